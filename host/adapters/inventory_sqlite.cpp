// The inventory in SQLite, through its C API: the only file that includes sqlite3.h.
// WAL (readers never wait for the writer), a busy timeout (concurrent `vm create` runs
// queue instead of failing), every change in one transaction, and lease allocation under
// BEGIN IMMEDIATE: the write lock is taken before the free address is read, so two processes
// cannot both see it free.
#include <sqlite3.h>

#include <memory>
#include <utility>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/inventory.hpp"

namespace cloudtwin::host {
namespace {

constexpr int kBusyTimeoutMs = 30000;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS hosts("
    "  name TEXT PRIMARY KEY, uri TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS networks("
    "  name TEXT PRIMARY KEY, cidr TEXT NOT NULL, gateway TEXT NOT NULL,"
    "  mac_prefix TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS leases("
    "  network TEXT NOT NULL REFERENCES networks(name), ip INTEGER NOT NULL,"
    "  mac TEXT NOT NULL UNIQUE, vm TEXT NOT NULL, host TEXT NOT NULL,"
    "  PRIMARY KEY(network, ip), UNIQUE(network, vm)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS leases_by_vm ON leases(vm);"
    "CREATE INDEX IF NOT EXISTS leases_by_host ON leases(host);";

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// One prepared statement; bind(), then step() row by row.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) fail("cannot prepare a query");
    s_.reset(s);
  }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_.get(), i, v));
    return *this;
  }
  bool step() {  // true: a row is there
    const int rc = sqlite3_step(s_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc == SQLITE_CONSTRAINT ? "refused" : "cannot read or write");
  }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(s_.get(), col);
    return p == nullptr ? std::string() : reinterpret_cast<const char*>(p);
  }
  std::int64_t integer(int col) { return sqlite3_column_int64(s_.get(), col); }
  [[noreturn]] void fail(const std::string& what) const {
    const int code = sqlite3_extended_errcode(db_);
    throw Error((code & 0xff) == SQLITE_CONSTRAINT ? ErrorCode::InvalidArgument : ErrorCode::Io,
                "inventory " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) fail("cannot bind a value");
  }
  sqlite3* db_;
  const std::string& path_;
  std::unique_ptr<sqlite3_stmt, StmtFinalize> s_;
};

class SqliteInventory final : public Inventory {
 public:
  explicit SqliteInventory(std::string path) : path_(std::move(path)) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path_.c_str(), &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
        nullptr);
    db_.reset(db);
    if (rc != SQLITE_OK) {
      throw Error(ErrorCode::Io, "cannot open the inventory " + path_ + ": " +
                                     (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    exec("PRAGMA journal_mode=WAL");  // persistent: set once per database file
    exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
    transaction([&] { exec(kSchema); });
  }

  void add_host(const InventoryHost& h) override {
    check_host_name(h.name);
    check_host_uri(h.uri);
    transaction([&] {
      if (find_host(h.name)) {
        throw Error(ErrorCode::InvalidArgument,
                    "host '" + h.name + "' is already in the inventory (cloudtwin host list)");
      }
      Stmt(db(), path_, "INSERT INTO hosts(name, uri, enabled) VALUES(?1, ?2, ?3)")
          .bind(1, h.name)
          .bind(2, h.uri)
          .bind(3, std::int64_t{h.enabled ? 1 : 0})
          .step();
    });
  }

  std::vector<InventoryHost> hosts() override {
    std::vector<InventoryHost> out;
    transaction([&] {
      Stmt s(db(), path_, "SELECT name, uri, enabled FROM hosts ORDER BY name");
      while (s.step()) out.push_back({s.text(0), s.text(1), s.integer(2) != 0});
    });
    return out;
  }

  void set_enabled(const std::string& host, bool enabled) override {
    transaction([&] {
      need_host(host);
      Stmt(db(), path_, "UPDATE hosts SET enabled = ?2 WHERE name = ?1")
          .bind(1, host)
          .bind(2, std::int64_t{enabled ? 1 : 0})
          .step();
    });
  }

  void remove_host(const std::string& host) override {
    transaction([&] {
      need_host(host);
      Stmt s(db(), path_,
             "SELECT COUNT(DISTINCT vm), MIN(vm) FROM leases WHERE host = ?1 GROUP BY host");
      s.bind(1, host);
      if (s.step() && s.integer(0) > 0) {
        throw Error(ErrorCode::InvalidArgument, "host '" + host + "' still has " +
                                                    std::to_string(s.integer(0)) +
                                                    " VM(s) with leases (e.g. '" + s.text(1) +
                                                    "'); delete or migrate them first");
      }
      Stmt(db(), path_, "DELETE FROM hosts WHERE name = ?1").bind(1, host).step();
    });
  }

  void put_network(const InventoryNetwork& n) override {
    transaction([&] { put_network_row(n); });
  }

  void put_network_row(const InventoryNetwork& n) {
    Stmt(db(), path_,
         "INSERT INTO networks(name, cidr, gateway, mac_prefix) VALUES(?1, ?2, ?3, ?4) "
         "ON CONFLICT(name) DO UPDATE SET cidr = ?2, gateway = ?3, mac_prefix = ?4")
        .bind(1, n.name)
        .bind(2, n.cidr.to_string())
        .bind(3, n.gateway.to_string())
        .bind(4, n.mac_prefix.to_string())
        .step();
  }

  std::vector<InventoryNetwork> networks() override {
    std::vector<InventoryNetwork> out;
    transaction([&] {
      Stmt s(db(), path_, "SELECT name, cidr, gateway, mac_prefix FROM networks ORDER BY name");
      while (s.step()) out.push_back(network_row(s));
    });
    return out;
  }

  Lease allocate_lease(const std::string& network, const std::string& vm, const std::string& host,
                       std::optional<core::Ipv4> wanted) override {
    Lease out;
    transaction(
        [&] {
          Stmt had(db(), path_,
                   "SELECT ip, mac FROM leases WHERE network = ?1 AND vm = ?2 AND host = ?3");
          had.bind(1, network).bind(2, vm).bind(3, host);
          if (had.step()) {
            out = {network, core::Ipv4::from_u32(static_cast<std::uint32_t>(had.integer(0))),
                   core::Mac::parse(had.text(1)), vm, host};
            return;
          }
          const auto n = need_network(network);
          if (wanted) {
            out = check_wanted(n, *wanted);
          } else {
            std::vector<std::uint32_t> used;
            Stmt s(db(), path_, "SELECT ip FROM leases WHERE network = ?1 ORDER BY ip");
            s.bind(1, network);
            while (s.step()) used.push_back(static_cast<std::uint32_t>(s.integer(0)));
            out = first_free_lease(n, used);
          }
          out.vm = vm;
          out.host = host;
          insert(out);
        },
        "BEGIN IMMEDIATE");
    return out;
  }

  std::size_t release_leases(const std::string& vm) override {
    std::size_t n = 0;
    transaction([&] {
      Stmt(db(), path_, "DELETE FROM leases WHERE vm = ?1").bind(1, vm).step();
      n = static_cast<std::size_t>(sqlite3_changes(db()));
    });
    return n;
  }

  void rename_leases(const std::string& from, const std::string& to) override {
    transaction([&] {
      Stmt(db(), path_, "UPDATE leases SET vm = ?2 WHERE vm = ?1").bind(1, from).bind(2, to).step();
    });
  }

  std::vector<Lease> leases() override {
    std::vector<Lease> out;
    transaction([&] { out = read_leases(); });
    return out;
  }

  InventoryView view() override {
    InventoryView v;
    transaction([&] {  // one snapshot for all three
      Stmt h(db(), path_, "SELECT name, uri, enabled FROM hosts ORDER BY name");
      while (h.step()) v.hosts.push_back({h.text(0), h.text(1), h.integer(2) != 0});
      Stmt n(db(), path_, "SELECT name, cidr, gateway, mac_prefix FROM networks ORDER BY name");
      while (n.step()) v.networks.push_back(network_row(n));
      v.leases = read_leases();
    });
    return v;
  }

  void replace(const std::vector<InventoryNetwork>& networks,
               const std::vector<Lease>& leases) override {
    transaction(
        [&] {
          exec("DELETE FROM leases; DELETE FROM networks");
          for (const auto& n : networks) put_network_row(n);
          for (const auto& l : leases) insert(l);
        },
        "BEGIN IMMEDIATE");
  }

 private:
  sqlite3* db() const { return db_.get(); }

  void exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      const std::string text = msg != nullptr ? msg : sqlite3_errmsg(db());
      sqlite3_free(msg);
      throw Error(ErrorCode::Io, "inventory " + path_ + ": " + text);
    }
  }

  // Runs `body` in one transaction: committed when it returns, rolled back when it throws.
  template <typename F>
  void transaction(F&& body, const char* begin = "BEGIN") {
    exec(begin);
    try {
      body();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::optional<InventoryHost> find_host(const std::string& name) {
    Stmt s(db(), path_, "SELECT name, uri, enabled FROM hosts WHERE name = ?1");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return InventoryHost{s.text(0), s.text(1), s.integer(2) != 0};
  }

  void need_host(const std::string& name) {
    if (!find_host(name)) {
      throw Error(ErrorCode::NotFound,
                  "no host named '" + name + "' in the inventory (cloudtwin host list)");
    }
  }

  static InventoryNetwork network_row(Stmt& s) {
    return {s.text(0), core::Ipv4Cidr::parse(s.text(1)), core::Ipv4::parse(s.text(2)),
            core::MacPrefix::parse(s.text(3))};
  }

  InventoryNetwork need_network(const std::string& name) {
    Stmt s(db(), path_, "SELECT name, cidr, gateway, mac_prefix FROM networks WHERE name = ?1");
    s.bind(1, name);
    if (!s.step()) {
      throw Error(ErrorCode::NotFound, "network '" + name + "' is not in the inventory");
    }
    return network_row(s);
  }

  Lease check_wanted(const InventoryNetwork& n, const core::Ipv4& ip) {
    const auto where = "address " + ip.to_string() + " on network '" + n.name + "'";
    if (!n.cidr.contains(ip) || ip == n.cidr.network() || ip == n.cidr.broadcast() ||
        ip == n.gateway) {
      throw Error(ErrorCode::InvalidArgument,
                  where + " is outside " + n.cidr.to_string() +
                      " or is its network, broadcast or gateway address");
    }
    Stmt s(db(), path_, "SELECT vm FROM leases WHERE network = ?1 AND ip = ?2");
    s.bind(1, n.name).bind(2, std::int64_t{ip.to_u32()});
    if (s.step()) {
      throw Error(ErrorCode::InvalidArgument, where + " is leased to VM '" + s.text(0) + "'");
    }
    return {n.name, ip, core::mac_from_ipv4(ip, n.mac_prefix), "", ""};
  }

  void insert(const Lease& l) {
    Stmt(db(), path_, "INSERT INTO leases(network, ip, mac, vm, host) VALUES(?1, ?2, ?3, ?4, ?5)")
        .bind(1, l.network)
        .bind(2, std::int64_t{l.ip.to_u32()})
        .bind(3, l.mac.to_string())
        .bind(4, l.vm)
        .bind(5, l.host)
        .step();
  }

  std::vector<Lease> read_leases() {
    std::vector<Lease> out;
    Stmt s(db(), path_, "SELECT network, ip, mac, vm, host FROM leases ORDER BY network, ip");
    while (s.step()) {
      out.push_back({s.text(0), core::Ipv4::from_u32(static_cast<std::uint32_t>(s.integer(1))),
                     core::Mac::parse(s.text(2)), s.text(3), s.text(4)});
    }
    return out;
  }

  std::string path_;
  std::unique_ptr<sqlite3, DbClose> db_;
};

}  // namespace

std::unique_ptr<Inventory> make_sqlite_inventory(const std::string& path) {
  return std::make_unique<SqliteInventory>(path);
}

}  // namespace cloudtwin::host
