// Hypervisor over libvirt's C API. With libvirt_pool_storage.cpp, the only files that include
// libvirt.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::host {
namespace {

void no_op_timer(int, void*) {}

// Runs one iteration of libvirt's default event loop, returning after at most `ms`
// (a timer fires then). The remote driver reads stream data only while this runs.
class EventTimer {
 public:
  EventTimer() : id_(virEventAddTimeout(-1, no_op_timer, nullptr, nullptr)) {}
  ~EventTimer() {
    if (id_ >= 0) virEventRemoveTimeout(id_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void run_once(int ms) {
    if (id_ < 0) return;
    virEventUpdateTimeout(id_, ms);
    virEventRunDefaultImpl();
    virEventUpdateTimeout(id_, -1);
  }

 private:
  int id_;
};

// libvirt prints every error to stderr by default; we report them ourselves.
void quiet(void*, virErrorPtr) {}

struct ConnClose {
  void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct DomFree {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
struct NetFree {
  void operator()(virNetworkPtr n) const { virNetworkFree(n); }
};
using Conn = std::unique_ptr<virConnect, ConnClose>;
using Dom = std::unique_ptr<virDomain, DomFree>;
using Net = std::unique_ptr<virNetwork, NetFree>;

[[noreturn]] void fail(const std::string& what);

class LibvirtConsole final : public ConsoleStream {
 public:
  LibvirtConsole(virStreamPtr stream, std::string name) : st_(stream), name_(std::move(name)) {}
  ~LibvirtConsole() override {
    if (!closed_) virStreamAbort(st_);
    virStreamFree(st_);
  }
  LibvirtConsole(const LibvirtConsole&) = delete;
  LibvirtConsole& operator=(const LibvirtConsole&) = delete;

  std::optional<std::string> receive(int timeout_ms) override {
    char buf[4096];
    for (int round = 0;; ++round) {
      const int n = virStreamRecv(st_, buf, sizeof buf);
      if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
      if (n == 0 || n == -1) {  // end of stream, or the VM went away under it
        if (n == 0) virStreamFinish(st_);
        closed_ = true;
        return std::nullopt;
      }
      if (round > 0 || timeout_ms <= 0) return std::string();
      timer_.run_once(timeout_ms);
    }
  }

  void send(std::string_view bytes) override {
    while (!bytes.empty()) {
      const int n = virStreamSend(st_, bytes.data(), bytes.size());
      if (n == -2) {
        timer_.run_once(10);
        continue;
      }
      if (n < 0) fail("cannot write to the console of VM '" + name_ + "'");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  virStreamPtr st_;
  std::string name_;
  EventTimer timer_;
  bool closed_ = false;
};

[[noreturn]] void fail(const std::string& what) {
  const int code = virGetLastErrorCode();
  const char* msg = virGetLastErrorMessage();
  const bool missing = code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_NETWORK;
  throw Error(missing ? ErrorCode::NotFound : ErrorCode::System,
              what + ": " + (msg != nullptr ? msg : "unknown libvirt error"));
}

class LibvirtHypervisor final : public Hypervisor {
 public:
  explicit LibvirtHypervisor(const std::string& uri) {
    virSetErrorFunc(nullptr, quiet);
    // Before connecting: the remote driver hooks its socket into the loop at open time.
    static std::once_flag events;
    std::call_once(events, [] { virEventRegisterDefaultImpl(); });
    conn_.reset(virConnectOpen(uri.c_str()));
    if (!conn_)
      fail("cannot connect to libvirt at '" + uri + "' (is libvirtd running? see --connect)");
  }

  void define_network(const std::string& xml) override {
    Net n(virNetworkDefineXML(conn_.get(), xml.c_str()));
    if (!n) fail("cannot define network");
  }
  void start_network(const std::string& name) override {
    auto n = network(name);
    if (virNetworkIsActive(n.get()) != 1 && virNetworkCreate(n.get()) != 0)
      fail("cannot start network '" + name + "'");
    if (virNetworkSetAutostart(n.get(), 1) != 0)
      fail("cannot mark network '" + name + "' autostart");
  }
  void destroy_network(const std::string& name) override {
    auto n = network(name);
    if (virNetworkIsActive(n.get()) == 1 && virNetworkDestroy(n.get()) != 0)
      fail("cannot stop network '" + name + "'");
  }
  void undefine_network(const std::string& name) override {
    auto n = network(name);
    if (virNetworkUndefine(n.get()) != 0) fail("cannot undefine network '" + name + "'");
  }
  std::vector<NetworkInfo> list_networks() override {
    virNetworkPtr* nets = nullptr;
    const int count = virConnectListAllNetworks(conn_.get(), &nets, 0);
    if (count < 0) fail("cannot list networks");
    std::vector<Net> owned;
    for (int i = 0; i < count; ++i) owned.emplace_back(nets[i]);
    std::free(nets);
    std::vector<NetworkInfo> out;
    for (const auto& n : owned) {
      char* xml = virNetworkGetXMLDesc(n.get(), 0);
      if (xml == nullptr) fail("cannot read network XML");
      out.push_back({virNetworkGetName(n.get()), virNetworkIsActive(n.get()) == 1, xml});
      std::free(xml);
    }
    return out;
  }
  void add_dhcp_host(const std::string& network_name, const std::string& host_xml) override {
    update(network_name, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host_xml, "add DHCP host to");
  }
  void remove_dhcp_host(const std::string& network_name, const std::string& host_xml) override {
    update(network_name, VIR_NETWORK_UPDATE_COMMAND_DELETE, host_xml, "remove DHCP host from");
  }

  void define_domain(const std::string& xml) override {
    Dom d(virDomainDefineXML(conn_.get(), xml.c_str()));
    if (!d) fail("cannot define domain");
  }
  void start_domain(const std::string& name) override {
    auto d = domain(name);  // keep it alive: freeing resets libvirt's last error
    if (virDomainCreate(d.get()) != 0) fail("cannot start VM '" + name + "'");
  }
  void destroy_domain(const std::string& name) override {
    auto d = domain(name);
    if (virDomainIsActive(d.get()) == 1 && virDomainDestroy(d.get()) != 0)
      fail("cannot stop VM '" + name + "'");
  }
  void undefine_domain(const std::string& name) override {
    // No NVRAM flag: our domains boot BIOS or a kernel, and the test driver refuses it.
    const unsigned flags =
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    auto d = domain(name);
    if (virDomainUndefineFlags(d.get(), flags) != 0) fail("cannot undefine VM '" + name + "'");
  }
  std::vector<DomainInfo> list_domains() override {
    virDomainPtr* doms = nullptr;
    const int count = virConnectListAllDomains(conn_.get(), &doms, 0);
    if (count < 0) fail("cannot list VMs");
    std::vector<Dom> owned;
    for (int i = 0; i < count; ++i) owned.emplace_back(doms[i]);
    std::free(doms);
    std::vector<DomainInfo> out;
    for (const auto& d : owned) {
      DomainInfo info{virDomainGetName(d.get()), virDomainIsActive(d.get()) == 1, std::nullopt};
      char* md = virDomainGetMetadata(d.get(), VIR_DOMAIN_METADATA_ELEMENT,
                                      record::kRecordNamespace, VIR_DOMAIN_AFFECT_CONFIG);
      if (md != nullptr) {
        info.record_element = md;
        std::free(md);
      }
      virDomainInfo di{};
      if (virDomainGetInfo(d.get(), &di) == 0) {  // else 0: the VM counts for nothing
        info.vcpu = di.nrVirtCpu;
        info.memory_mib = di.maxMem / 1024;
      }
      out.push_back(std::move(info));
    }
    return out;
  }
  void shutdown_domain(const std::string& name) override {
    auto d = domain(name);
    if (virDomainShutdown(d.get()) != 0) fail("cannot shut down VM '" + name + "'");
  }
  void reboot_domain(const std::string& name) override {
    auto d = domain(name);
    if (virDomainReboot(d.get(), 0) != 0) fail("cannot reboot VM '" + name + "'");
  }
  NodeInfo node_info() override {
    virNodeInfo n{};
    if (virNodeGetInfo(conn_.get(), &n) != 0) fail("cannot read the host's CPUs and memory");
    return {n.cpus, n.memory / 1024};
  }
  std::string domain_xml(const std::string& name) override {
    auto d = domain(name);
    char* xml = virDomainGetXMLDesc(d.get(), 0);
    if (xml == nullptr) fail("cannot read the XML of VM '" + name + "'");
    std::string out = xml;
    std::free(xml);
    return out;
  }
  std::unique_ptr<ConsoleStream> open_console(const std::string& name, bool force) override {
    auto d = domain(name);
    // Freed only after fail() has read libvirt's last error.
    std::unique_ptr<virStream, int (*)(virStreamPtr)> st(
        virStreamNew(conn_.get(), VIR_STREAM_NONBLOCK), virStreamFree);
    if (!st) fail("cannot create a stream for the console of VM '" + name + "'");
    const unsigned flags = force ? VIR_DOMAIN_CONSOLE_FORCE : VIR_DOMAIN_CONSOLE_SAFE;
    if (virDomainOpenConsole(d.get(), nullptr, st.get(), flags) != 0) {
      fail("cannot open the console of VM '" + name + "'" +
           (force ? "" : " (is another console attached? --force takes it over)"));
    }
    return std::make_unique<LibvirtConsole>(st.release(), name);
  }

 private:
  Net network(const std::string& name) {
    Net n(virNetworkLookupByName(conn_.get(), name.c_str()));
    if (!n) fail("network '" + name + "'");
    return n;
  }
  Dom domain(const std::string& name) {
    Dom d(virDomainLookupByName(conn_.get(), name.c_str()));
    if (!d) fail("VM '" + name + "'");
    return d;
  }
  void update(const std::string& name, virNetworkUpdateCommand cmd, const std::string& xml,
              const char* what) {
    auto n = network(name);
    unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    if (virNetworkIsActive(n.get()) == 1) flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
    if (virNetworkUpdate(n.get(), cmd, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, xml.c_str(), flags) !=
        0) {
      fail(std::string("cannot ") + what + " network '" + name + "'");
    }
  }

  Conn conn_;
};

}  // namespace

std::unique_ptr<Hypervisor> make_libvirt_hypervisor(const std::string& uri) {
  return std::make_unique<LibvirtHypervisor>(uri);
}

}  // namespace cloudtwin::host
