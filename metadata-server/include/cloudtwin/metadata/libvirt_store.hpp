#pragma once
// Adapter: instance records from libvirt, the source of truth in production. Each
// domain's <metadata> element in the cloudtwin namespace (docs/instance-record.md) is
// one record. All domains are loaded at construction; then domain events (defined,
// undefined, started, stopped, metadata changed) keep the set current, dispatched by
// libvirt's default event loop on a thread of its own. When the connection drops
// (close callback, keep-alive) the store keeps serving what it has and reconnects with
// a growing delay (0.5 s doubling to 30 s), then reloads everything.

#include <memory>
#include <string>

#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

class LibvirtInstanceStore : public InstanceStore {
 public:
  // Connects to `uri` (e.g. qemu:///system, test:///default). When libvirt cannot be
  // reached the store starts empty, logs why, and keeps retrying.
  LibvirtInstanceStore(std::string uri, const HostIdentity* host, LogSink log,
                       record::MetadataOptions defaults = {});
  ~LibvirtInstanceStore() override;
  LibvirtInstanceStore(const LibvirtInstanceStore&) = delete;
  LibvirtInstanceStore& operator=(const LibvirtInstanceStore&) = delete;

  std::shared_ptr<const ServedInstance> find(std::string_view listener,
                                             std::string_view address) override;
  std::vector<std::shared_ptr<const ServedInstance>> all() const override;
  std::size_t size() const;
  bool connected() const;
  // Re-reads every domain now (also done after each reconnect).
  void reload();

  struct State;  // shared with libvirt's callbacks, which may outlive this object briefly

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cloudtwin::metadata
