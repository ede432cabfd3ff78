#pragma once
// In-memory Hypervisor, IsoWriter and Storage sharing one call counter: the Nth mutating
// call (counted over all three) throws, so a test can make every step fail in turn.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/network_xml.hpp"

namespace cloudtwin::host::testing {

struct FailCounter {
  int calls = 0;
  int fail_at = 0;  // 0: never
  void step(const std::string& what) {
    if (++calls == fail_at)
      throw Error(ErrorCode::System,
                  "injected failure at call " + std::to_string(calls) + ": " + what);
  }
};

class FakeHypervisor : public Hypervisor {
 public:
  explicit FakeHypervisor(FailCounter& f) : f_(f) {}
  struct Net {
    std::string xml;
    bool active = false;
    std::vector<std::string> hosts;
  };
  struct Dom {
    std::string xml;
    bool active = false;
  };
  std::map<std::string, Net> nets;
  std::map<std::string, Dom> doms;

  void define_network(const std::string& xml) override {
    f_.step("define_network");
    const auto spec = parse_network_xml(xml);
    nets[spec.name] = {xml, false, {}};
  }
  void start_network(const std::string& name) override {
    f_.step("start_network");
    net(name).active = true;
  }
  void destroy_network(const std::string& name) override {
    f_.step("destroy_network");
    net(name).active = false;
  }
  void undefine_network(const std::string& name) override {
    f_.step("undefine_network");
    net(name);
    nets.erase(name);
  }
  std::vector<NetworkInfo> list_networks() override {
    std::vector<NetworkInfo> out;
    for (const auto& [name, n] : nets) {
      std::string xml = n.xml;
      // Reflect reservations the way libvirt does: in the network XML.
      const auto at = xml.find("    </dhcp>");
      std::string hosts;
      for (const auto& h : n.hosts) hosts += "      " + h + "\n";
      xml.insert(at, hosts);
      out.push_back({name, n.active, xml});
    }
    return out;
  }
  void add_dhcp_host(const std::string& network, const std::string& host_xml) override {
    f_.step("add_dhcp_host");
    auto& hosts = net(network).hosts;
    if (std::find(hosts.begin(), hosts.end(), host_xml) != hosts.end())
      throw Error(ErrorCode::System, "duplicate host");
    hosts.push_back(host_xml);
  }
  void remove_dhcp_host(const std::string& network, const std::string& host_xml) override {
    f_.step("remove_dhcp_host");
    auto& hosts = net(network).hosts;
    const auto it = std::find(hosts.begin(), hosts.end(), host_xml);
    if (it == hosts.end()) throw Error(ErrorCode::NotFound, "no such host");
    hosts.erase(it);
  }
  void define_domain(const std::string& xml) override {
    f_.step("define_domain");
    const auto a = xml.find("<name>") + 6;
    const auto name = xml.substr(a, xml.find("</name>") - a);
    if (doms.count(name) != 0) throw Error(ErrorCode::System, "domain exists");
    doms[name] = {xml, false};
  }
  void start_domain(const std::string& name) override {
    f_.step("start_domain");
    dom(name).active = true;
  }
  void destroy_domain(const std::string& name) override {
    f_.step("destroy_domain");
    dom(name).active = false;
  }
  void undefine_domain(const std::string& name) override {
    f_.step("undefine_domain");
    dom(name);
    doms.erase(name);
  }
  std::vector<DomainInfo> list_domains() override {
    std::vector<DomainInfo> out;
    for (const auto& [name, d] : doms) {
      DomainInfo info{name, d.active, std::nullopt};
      const auto a = d.xml.find("<cloudtwin:instance");
      if (a != std::string::npos) {
        const auto end = std::string("</cloudtwin:instance>");
        const auto b = d.xml.find(end, a);
        info.record_element = d.xml.substr(a, b + end.size() - a);
      }
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  Net& net(const std::string& name) {
    const auto it = nets.find(name);
    if (it == nets.end()) throw Error(ErrorCode::NotFound, "network '" + name + "'");
    return it->second;
  }
  Dom& dom(const std::string& name) {
    const auto it = doms.find(name);
    if (it == doms.end()) throw Error(ErrorCode::NotFound, "VM '" + name + "'");
    return it->second;
  }
  FailCounter& f_;
};

class FakeStorage : public Storage, public IsoWriter {
 public:
  explicit FakeStorage(FailCounter& f) : f_(f) {}
  std::set<std::string> dirs;
  std::map<std::string, std::string> files;  // path -> content summary
  std::map<std::string, std::vector<IsoWriter::File>> isos;
  int locks_held = 0;

  void create_dir(const std::string& path) override {
    f_.step("create_dir");
    if (!dirs.insert(path).second) throw Error(ErrorCode::Io, "exists " + path);
  }
  void remove_dir(const std::string& path) override {
    f_.step("remove_dir");
    for (const auto& [p, c] : files) {
      if (p.rfind(path + "/", 0) == 0) throw Error(ErrorCode::Io, "not empty " + path);
    }
    dirs.erase(path);
  }
  void create_overlay(const std::string& base, const std::string& path) override {
    f_.step("create_overlay");
    files[path] = "overlay of " + base;
  }
  void remove_file(const std::string& path) override {
    f_.step("remove_file");
    files.erase(path);
    isos.erase(path);
  }
  bool exists(const std::string& path) override {
    return files.count(path) != 0 || dirs.count(path) != 0;
  }
  std::shared_ptr<void> lock(const std::string&) override {
    ++locks_held;
    return std::shared_ptr<void>(nullptr, [this](void*) { --locks_held; });
  }
  void write(const std::string& path, const std::string& volume_id,
             const std::vector<File>& content) override {
    f_.step("write_iso");
    files[path] = "iso " + volume_id;
    isos[path] = content;
  }

 private:
  FailCounter& f_;
};

class CountingRandom : public Random {
 public:
  std::uint64_t next_u64() override { return ++n_ * 0x1111111111111111ULL; }

 private:
  std::uint64_t n_ = 0;
};

// Hands out a non-owning view of a long-lived fake, for CliEnv factories.
class HypervisorRef : public Hypervisor {
 public:
  explicit HypervisorRef(Hypervisor& h) : h_(h) {}
  void define_network(const std::string& x) override { h_.define_network(x); }
  void start_network(const std::string& n) override { h_.start_network(n); }
  void destroy_network(const std::string& n) override { h_.destroy_network(n); }
  void undefine_network(const std::string& n) override { h_.undefine_network(n); }
  std::vector<NetworkInfo> list_networks() override { return h_.list_networks(); }
  void add_dhcp_host(const std::string& n, const std::string& x) override {
    h_.add_dhcp_host(n, x);
  }
  void remove_dhcp_host(const std::string& n, const std::string& x) override {
    h_.remove_dhcp_host(n, x);
  }
  void define_domain(const std::string& x) override { h_.define_domain(x); }
  void start_domain(const std::string& n) override { h_.start_domain(n); }
  void destroy_domain(const std::string& n) override { h_.destroy_domain(n); }
  void undefine_domain(const std::string& n) override { h_.undefine_domain(n); }
  std::vector<DomainInfo> list_domains() override { return h_.list_domains(); }

 private:
  Hypervisor& h_;
};

class StorageRef : public Storage, public IsoWriter {
 public:
  explicit StorageRef(FakeStorage& s) : s_(s) {}
  void create_dir(const std::string& p) override { s_.create_dir(p); }
  void remove_dir(const std::string& p) override { s_.remove_dir(p); }
  void create_overlay(const std::string& b, const std::string& p) override {
    s_.create_overlay(b, p);
  }
  void remove_file(const std::string& p) override { s_.remove_file(p); }
  bool exists(const std::string& p) override { return s_.exists(p); }
  std::shared_ptr<void> lock(const std::string& p) override { return s_.lock(p); }
  void write(const std::string& p, const std::string& v, const std::vector<File>& f) override {
    s_.write(p, v, f);
  }

 private:
  FakeStorage& s_;
};

}  // namespace cloudtwin::host::testing
