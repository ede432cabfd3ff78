// Overlays through a libvirt storage pool: libvirt (its storage driver, as the daemon's user)
// runs qemu-img, labels the file and knows the volume. Everything that is not an overlay is
// handed to the wrapped Storage.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <cstdlib>
#include <memory>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/adapters.hpp"

namespace cloudtwin::host {
namespace {

constexpr const char* kPoolName = "cloudtwin-instances";

void quiet(void*, virErrorPtr) {}

struct ConnClose {
  void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct PoolFree {
  void operator()(virStoragePoolPtr p) const { virStoragePoolFree(p); }
};
struct VolFree {
  void operator()(virStorageVolPtr v) const { virStorageVolFree(v); }
};
using Conn = std::unique_ptr<virConnect, ConnClose>;
using Pool = std::unique_ptr<virStoragePool, PoolFree>;
using Vol = std::unique_ptr<virStorageVol, VolFree>;

[[noreturn]] void fail(const std::string& what) {
  const int code = virGetLastErrorCode();
  const char* msg = virGetLastErrorMessage();
  const bool missing = code == VIR_ERR_NO_STORAGE_POOL || code == VIR_ERR_NO_STORAGE_VOL;
  throw Error(missing ? ErrorCode::NotFound : ErrorCode::System,
              what + ": " + (msg != nullptr ? msg : "unknown libvirt error"));
}

std::string owned(char* text) {
  std::string out = text != nullptr ? text : "";
  std::free(text);
  return out;
}

// The <target><path> of a pool's XML ("" if none): enough to find the pool on a directory.
std::string target_path(const std::string& xml) {
  const auto target = xml.find("<target>");
  if (target == std::string::npos) return "";
  const auto a = xml.find("<path>", target);
  const auto b = xml.find("</path>", target);
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return xml.substr(a + 6, b - a - 6);
}

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

class LibvirtPoolStorage final : public Storage {
 public:
  LibvirtPoolStorage(std::string uri, std::string dir, std::unique_ptr<Storage> files)
      : uri_(std::move(uri)),
        dir_(without_trailing_slash(std::move(dir))),
        files_(std::move(files)) {}

  void create_overlay(const std::string& base, const std::string& path) override {
    if (!files_->exists(base))
      throw Error(ErrorCode::NotFound,
                  "base image " + base + " does not exist (put qcow2 images in [storage] images)");
    const auto name = volume_name(path);
    auto pool = ensure_pool();
    // capacity 0: the backing image's size. compat 1.1 as `qemu-img create` makes them.
    const auto xml = "<volume type='file'>\n  <name>" + core::xml_escape(name) +
                     "</name>\n  <capacity unit='bytes'>0</capacity>\n  <target>\n"
                     "    <format type='qcow2'/>\n    <compat>1.1</compat>\n"
                     "    <permissions><mode>0600</mode></permissions>\n  </target>\n"
                     "  <backingStore>\n    <path>" +
                     core::xml_escape(base) +
                     "</path>\n    <format type='qcow2'/>\n  </backingStore>\n</volume>\n";
    Vol vol(virStorageVolCreateXML(pool.get(), xml.c_str(), 0));
    if (!vol)
      fail("cannot create overlay " + path + " on " + base + " in storage pool '" +
           pool_name(pool) + "'");
  }

  void remove_overlay(const std::string& path) override {
    Vol vol(virStorageVolLookupByPath(conn(), path.c_str()));
    if (!vol) {
      // Made before the pool knew it (another [storage] overlays setting, or libvirtd
      // restarted without a refresh): refresh once, then it is just a file.
      if (auto pool = find_pool()) virStoragePoolRefresh(pool.get(), 0);
      vol.reset(virStorageVolLookupByPath(conn(), path.c_str()));
    }
    if (!vol) {
      files_->remove_file(path);
      return;
    }
    if (virStorageVolDelete(vol.get(), 0) != 0) fail("cannot delete overlay " + path);
  }

  void create_dir(const std::string& path) override { files_->create_dir(path); }
  void remove_dir(const std::string& path) override {
    files_->remove_dir(path);
    // The pool lists what was in its directory when it last looked, VM directories too:
    // look again, so that `virsh vol-list` keeps no ghost of a deleted VM.
    if (!conn_) return;
    if (auto pool = find_pool(); pool && virStoragePoolIsActive(pool.get()) == 1)
      virStoragePoolRefresh(pool.get(), 0);
  }
  void remove_file(const std::string& path) override { files_->remove_file(path); }
  bool exists(const std::string& path) override { return files_->exists(path); }
  std::vector<std::string> list_files(const std::string& dir) override {
    return files_->list_files(dir);
  }
  void rename(const std::string& from, const std::string& to) override { files_->rename(from, to); }
  std::shared_ptr<void> lock(const std::string& path) override { return files_->lock(path); }

 private:
  std::string volume_name(const std::string& path) const {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos || path.substr(0, slash) != dir_ || slash + 1 == path.size()) {
      throw Error(ErrorCode::InvalidArgument,
                  "overlay " + path + " is not directly in " + dir_ +
                      ", the directory of the overlay storage pool ([storage] instances)");
    }
    return path.substr(slash + 1);
  }

  static std::string pool_name(const Pool& pool) {
    const char* name = virStoragePoolGetName(pool.get());
    return name != nullptr ? name : "?";
  }

  // The pool whose target is our directory, if any.
  Pool find_pool() {
    virStoragePoolPtr* pools = nullptr;
    const int count = virConnectListAllStoragePools(conn(), &pools, 0);
    if (count < 0) fail("cannot list storage pools");
    std::vector<Pool> all;
    for (int i = 0; i < count; ++i) all.emplace_back(pools[i]);
    std::free(pools);
    for (auto& p : all) {
      const auto xml = owned(virStoragePoolGetXMLDesc(p.get(), 0));
      if (without_trailing_slash(target_path(xml)) == dir_) return std::move(p);
    }
    return nullptr;
  }

  Pool ensure_pool() {
    auto pool = find_pool();
    if (!pool) {
      Pool same_name(virStoragePoolLookupByName(conn(), kPoolName));
      if (same_name) {
        throw Error(ErrorCode::InvalidArgument,
                    std::string("storage pool '") + kPoolName + "' exists but not on " + dir_ +
                        " ([storage] instances changed?): point it there, or undefine it");
      }
      const auto xml = std::string("<pool type='dir'>\n  <name>") + kPoolName +
                       "</name>\n  <target>\n    <path>" + core::xml_escape(dir_) +
                       "</path>\n  </target>\n</pool>\n";
      pool.reset(virStoragePoolDefineXML(conn(), xml.c_str(), 0));
      if (!pool) fail("cannot define storage pool '" + std::string(kPoolName) + "' on " + dir_);
      if (virStoragePoolSetAutostart(pool.get(), 1) != 0)
        fail("cannot mark storage pool '" + std::string(kPoolName) + "' autostart");
    }
    if (virStoragePoolIsActive(pool.get()) != 1 && virStoragePoolCreate(pool.get(), 0) != 0)
      fail("cannot start storage pool '" + pool_name(pool) + "' on " + dir_);
    return pool;
  }

  // Opened at the first overlay: most commands never need it.
  virConnectPtr conn() {
    if (!conn_) {
      virSetErrorFunc(nullptr, quiet);
      conn_.reset(virConnectOpen(uri_.c_str()));
      if (!conn_) fail("cannot connect to libvirt at '" + uri_ + "' for the overlay storage pool");
    }
    return conn_.get();
  }

  std::string uri_;
  Conn conn_;
  std::string dir_;
  std::unique_ptr<Storage> files_;
};

}  // namespace

std::unique_ptr<Storage> make_libvirt_pool_storage(const std::string& uri,
                                                   const std::string& instances_dir,
                                                   std::unique_ptr<Storage> files) {
  return std::make_unique<LibvirtPoolStorage>(uri, instances_dir, std::move(files));
}

}  // namespace cloudtwin::host
