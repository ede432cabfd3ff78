// Adapter: instance records from libvirt domain metadata, kept current by domain events.
#include "cloudtwin/metadata/libvirt_store.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::metadata {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFirstRetry = std::chrono::milliseconds(500);
constexpr auto kMaxRetry = std::chrono::seconds(30);
constexpr int kTimerMs = 250;  // how often the reconnect check runs on the event thread

// libvirt's default event loop, once per process, on a thread of its own. It must exist
// before the first connection is opened, so keep-alives and events are delivered.
void ensure_event_loop() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Errors are reported through our log with context; libvirt must not print them too.
    virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
    if (virEventRegisterDefaultImpl() < 0) {
      throw Error(ErrorCode::Io,
                  "cannot start libvirt's event loop: " + std::string(virGetLastErrorMessage()));
    }
    std::thread([] {
      for (;;) virEventRunDefaultImpl();
    }).detach();
  });
}

std::string last_error() {
  const char* m = virGetLastErrorMessage();
  return m ? m : "unknown libvirt error";
}

std::string domain_uuid(virDomainPtr d) {
  char buf[VIR_UUID_STRING_BUFLEN] = {};
  return virDomainGetUUIDString(d, buf) == 0 ? std::string(buf) : std::string();
}

}  // namespace

struct LibvirtInstanceStore::State : std::enable_shared_from_this<State> {
  std::string uri;
  const HostIdentity* host = nullptr;
  LogSink log;
  record::MetadataOptions defaults;

  std::mutex mutex;  // everything below except `index`, `dropped`
  virConnectPtr conn = nullptr;
  int lifecycle_id = -1;
  int metadata_id = -1;
  int timer_id = -1;
  bool closed = false;
  Clock::duration retry = kFirstRetry;
  Clock::time_point next_attempt{};
  std::map<std::string, std::shared_ptr<const ServedInstance>> domains;  // by UUID
  std::atomic<bool> dropped{false};

  mutable std::mutex index_mutex;
  std::shared_ptr<const InstanceIndex> index = std::make_shared<InstanceIndex>();

  using Holder = std::weak_ptr<State>;
  static void free_holder(void* opaque) { delete static_cast<Holder*>(opaque); }
  static std::shared_ptr<State> from(void* opaque) { return static_cast<Holder*>(opaque)->lock(); }

  void rebuild_locked() {
    std::vector<std::shared_ptr<const ServedInstance>> served;
    for (const auto& [uuid, s] : domains) served.push_back(s);
    auto next = std::make_shared<InstanceIndex>();
    for (const auto& problem : next->build(served)) log(problem);
    const std::lock_guard lock(index_mutex);
    index = std::move(next);
  }

  // Forgets one domain's record, saying so; false when it had none.
  bool drop_locked(const std::string& uuid, const std::string& name, const std::string& why) {
    const auto it = domains.find(uuid);
    if (it == domains.end()) return false;
    log("dropped domain '" + name + "' (instance " + it->second->instance.instance_id +
        "): " + why);
    domains.erase(it);
    return true;
  }

  static std::string name_of(virDomainPtr d, const std::string& uuid) {
    const char* raw_name = virDomainGetName(d);
    return raw_name ? raw_name : uuid;
  }

  // Reads one domain's record into `domains`; false when nothing changed.
  bool read_domain_locked(virDomainPtr d) {
    const auto uuid = domain_uuid(d);
    const std::string name = name_of(d, uuid);
    char* md = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, record::kRecordNamespace,
                                    VIR_DOMAIN_AFFECT_CONFIG);
    if (md == nullptr) {  // a transient domain has no persistent config
      md = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, record::kRecordNamespace, 0);
    }
    if (md == nullptr) {
      const int code = virGetLastErrorCode();
      if (code == VIR_ERR_NO_DOMAIN) return drop_locked(uuid, name, "the domain is gone");
      if (code == VIR_ERR_NO_DOMAIN_METADATA)
        return drop_locked(uuid, name, "it has no instance record any more");
      log("cannot read the instance record of domain '" + name + "': " + last_error());
      return domains.erase(uuid) > 0;
    }
    const std::string xml(md);
    std::free(md);
    try {
      auto instance = record::instance_from_element(xml, "domain '" + name + "'", defaults);
      if (const auto old = domains.find(uuid);
          old != domains.end() && old->second->instance == instance && old->second->name == name) {
        return false;
      }
      domains[uuid] = make_served(std::move(instance), host, name);
      log("loaded domain '" + name + "' (instance " + domains[uuid]->instance.instance_id + ")");
    } catch (const std::exception& e) {
      log("skipping instance record: " + std::string(e.what()));
      return domains.erase(uuid) > 0;
    }
    return true;
  }

  void load_all_locked() {
    virDomainPtr* list = nullptr;
    const int n = virConnectListAllDomains(conn, &list, 0);
    if (n < 0) {
      log("cannot list libvirt domains at " + uri + ": " + last_error());
      return;
    }
    domains.clear();
    for (int i = 0; i < n; ++i) {
      read_domain_locked(list[i]);
      virDomainFree(list[i]);
    }
    std::free(list);
    rebuild_locked();
  }

  static int on_lifecycle(virConnectPtr, virDomainPtr d, int event, int, void* opaque) {
    const auto s = from(opaque);
    if (!s) return 0;
    const std::lock_guard lock(s->mutex);
    if (s->closed) return 0;
    const auto uuid = domain_uuid(d);
    const bool changed = event == VIR_DOMAIN_EVENT_UNDEFINED
                             ? s->drop_locked(uuid, name_of(d, uuid), "undefined")
                             : s->read_domain_locked(d);
    if (changed) s->rebuild_locked();
    return 0;
  }

  static void on_metadata(virConnectPtr c, virDomainPtr d, int type, const char* ns, void* opaque) {
    if (type == VIR_DOMAIN_METADATA_ELEMENT && ns && std::string(ns) == record::kRecordNamespace)
      on_lifecycle(c, d, VIR_DOMAIN_EVENT_DEFINED, 0, opaque);
  }

  static void on_close(virConnectPtr, int, void* opaque) {
    if (const auto s = from(opaque)) s->dropped = true;
  }

  static void on_timer(int, void* opaque) {
    const auto s = from(opaque);
    if (!s) return;
    const std::lock_guard lock(s->mutex);
    if (s->closed || (s->conn && !s->dropped && virConnectIsAlive(s->conn) == 1)) return;
    if (Clock::now() < s->next_attempt) return;
    if (s->conn) s->log("lost the libvirt connection to " + s->uri + "; reconnecting");
    s->disconnect_locked();
    s->connect_locked();
  }

  void connect_locked() {
    conn = virConnectOpenReadOnly(uri.c_str());
    if (conn == nullptr) {
      log("cannot connect to libvirt at " + uri + ": " + last_error() + "; retrying in " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(retry).count()) +
          " ms");
      next_attempt = Clock::now() + retry;
      retry = std::min<Clock::duration>(retry * 2, kMaxRetry);
      return;
    }
    retry = kFirstRetry;
    dropped = false;
    virConnectRegisterCloseCallback(conn, on_close, new Holder(weak_from_this()), free_holder);
    virConnectSetKeepAlive(conn, 5, 3);  // the test driver has none: not an error
    lifecycle_id = virConnectDomainEventRegisterAny(conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
                                                    new Holder(weak_from_this()), free_holder);
    metadata_id = virConnectDomainEventRegisterAny(
        conn, nullptr, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_metadata),
        new Holder(weak_from_this()), free_holder);
    if (lifecycle_id < 0)
      log("cannot follow libvirt domain events at " + uri + ": " + last_error());
    load_all_locked();
    log("serving " + std::to_string(domains.size()) + " instance(s) from libvirt " + uri);
  }

  void disconnect_locked() {
    if (conn == nullptr) return;
    if (lifecycle_id >= 0) virConnectDomainEventDeregisterAny(conn, lifecycle_id);
    if (metadata_id >= 0) virConnectDomainEventDeregisterAny(conn, metadata_id);
    lifecycle_id = metadata_id = -1;
    virConnectUnregisterCloseCallback(conn, on_close);
    virConnectClose(conn);
    conn = nullptr;
  }
};

LibvirtInstanceStore::LibvirtInstanceStore(std::string uri, const HostIdentity* host, LogSink log,
                                           record::MetadataOptions defaults)
    : state_(std::make_shared<State>()) {
  ensure_event_loop();
  state_->uri = std::move(uri);
  state_->host = host;
  state_->log = std::move(log);
  state_->defaults = defaults;
  const std::lock_guard lock(state_->mutex);
  state_->connect_locked();
  state_->timer_id =
      virEventAddTimeout(kTimerMs, State::on_timer, new State::Holder(state_), State::free_holder);
}

LibvirtInstanceStore::~LibvirtInstanceStore() {
  const std::lock_guard lock(state_->mutex);
  state_->closed = true;
  if (state_->timer_id >= 0) virEventRemoveTimeout(state_->timer_id);
  state_->disconnect_locked();
}

std::shared_ptr<const ServedInstance> LibvirtInstanceStore::find(std::string_view listener,
                                                                 std::string_view address) {
  std::shared_ptr<const InstanceIndex> index;
  {
    const std::lock_guard lock(state_->index_mutex);
    index = state_->index;
  }
  return index->find(listener, address);
}

std::vector<std::shared_ptr<const ServedInstance>> LibvirtInstanceStore::all() const {
  const std::lock_guard lock(state_->index_mutex);
  return state_->index->all();
}

std::size_t LibvirtInstanceStore::size() const {
  const std::lock_guard lock(state_->index_mutex);
  return state_->index->size();
}

bool LibvirtInstanceStore::connected() const {
  const std::lock_guard lock(state_->mutex);
  return state_->conn != nullptr && !state_->dropped;
}

void LibvirtInstanceStore::reload() {
  const std::lock_guard lock(state_->mutex);
  if (state_->conn != nullptr) state_->load_all_locked();
}

}  // namespace cloudtwin::metadata
