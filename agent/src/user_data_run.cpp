#include "cloudtwin/agent/user_data_run.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/cloud_config.hpp"
#include "cloudtwin/agent/users.hpp"
#include "cloudtwin/agent/vpn_join.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;

namespace {

std::string safe_name(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 64)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

std::optional<unsigned> group_id(std::string_view group_db, std::string_view name) {
  const std::string prefix = std::string(name) + ":";
  std::size_t pos = 0;
  while (pos < group_db.size()) {
    const auto nl = group_db.find('\n', pos);
    const auto line = group_db.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (line.starts_with(prefix)) {
      const auto a = line.find(':', prefix.size());
      const auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
      unsigned id = 0;
      if (b != std::string_view::npos &&
          std::from_chars(line.data() + a + 1, line.data() + b, id).ec == std::errc{})
        return id;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return std::nullopt;
}

class Run {
 public:
  Run(const UserDataOptions& o, ProcessRunner& r, fs::path dir)
      : options_(o), runner_(r), dir_(std::move(dir)), log_(dir_ / "user-data.log") {}

  void item(const UserDataItem& it, PartResult& out) {
    switch (it.kind) {
      case core::UserDataKind::Script:
        script(it, out);
        return;
      case core::UserDataKind::CloudConfig:
        cloud_config(it, out);
        return;
      case core::UserDataKind::Empty:
        out.messages.emplace_back("empty");
        return;
      default:
        out.messages.push_back(std::string(core::to_string(it.kind)) +
                               " part kept, not executed (not supported)");
        return;
    }
  }

 private:
  void exec(const std::vector<std::string>& argv, PartResult& out, const std::string& what) {
    const int code = runner_.run(argv, log_);
    if (code != 0 || !out.exit_code) out.exit_code = code;
    out.messages.push_back(what + ": exit " + std::to_string(code));
    if (code != 0) out.ok = false;
  }

  void script(const UserDataItem& it, PartResult& out) {
    const auto path = dir_ / "scripts" / safe_name(it.name);
    fs::create_directories(path.parent_path());
    write_file_atomic(path, it.content, 0700);
    // A file without "#!" (START_SCRIPT, init.sh) is a shell script by OpenNebula's
    // convention: sh runs the file; no string is ever handed to `sh -c`.
    if (it.content.starts_with("#!"))
      exec({path.string()}, out, "ran " + it.name);
    else
      exec({"/bin/sh", path.string()}, out, "ran " + it.name + " with /bin/sh");
  }

  void cloud_config(const UserDataItem& it, PartResult& out) {
    const auto c = parse_cloud_config(it.content, it.name);
    auto add = [&](const std::vector<std::string>& m) {
      out.messages.insert(out.messages.end(), m.begin(), m.end());
    };
    auto guarded = [&](const std::string& what, auto&& f) {
      try {
        f();
      } catch (const Error& e) {
        out.ok = false;
        out.messages.push_back(what + ": " + e.what());
      } catch (const std::exception& e) {
        out.ok = false;
        out.messages.push_back(what + ": " + e.what());
      }
    };
    for (const auto& cmd : c.bootcmd) guarded("bootcmd", [&] { exec(cmd.argv, out, "bootcmd"); });
    if (c.fqdn || c.hostname)
      guarded("hostname",
              [&] { add(install_hostname(options_.root, c.fqdn ? *c.fqdn : *c.hostname)); });
    for (const auto& u : c.users) {
      guarded("users " + u.name, [&] {
        add(ensure_user(options_.root, u.name, u.shell));
        if (u.sudo) add(install_sudo(options_.root, u.name, *u.sudo));
        if (!u.ssh_authorized_keys.empty())
          add(install_ssh_keys(options_.root, u.name, u.ssh_authorized_keys));
      });
    }
    if (!c.ssh_authorized_keys.empty()) {
      guarded("ssh_authorized_keys", [&] {
        add(install_ssh_keys(options_.root, options_.default_user, c.ssh_authorized_keys));
      });
    }
    for (const auto& f : c.write_files) guarded("write_files " + f.path, [&] { write(f, out); });
    for (const auto& cmd : c.runcmd) guarded("runcmd", [&] { exec(cmd.argv, out, "runcmd"); });
    for (const auto& k : c.ignored) out.messages.push_back("key '" + k + "' not handled");
  }

  void write(const WriteFile& f, PartResult& out) {
    const auto path = under_root(options_.root, f.path);
    fs::create_directories(path.parent_path());
    const std::string content = f.append ? read_or_empty(path) + f.content : f.content;
    write_file_atomic(path, content, f.mode);
    out.messages.push_back("wrote " + f.path);
    if (geteuid() != 0) return;
    const auto colon = f.owner.find(':');
    const auto user = f.owner.substr(0, colon);
    const auto group = colon == std::string::npos ? user : f.owner.substr(colon + 1);
    const auto etc = under_root(options_.root, "/etc");
    auto entry = find_passwd_entry(read_or_empty(etc / "passwd"), user);
    auto gid = group_id(read_or_empty(etc / "group"), group);
    if (!entry && user == "root") entry = PasswdEntry{"root", 0, 0, "/root"};
    if (!gid && group == "root") gid = 0u;
    if (!entry || !gid)
      throw Error(ErrorCode::NotFound, "owner '" + f.owner + "' of " + f.path + " is unknown");
    if (::lchown(path.c_str(), entry->uid, *gid) != 0)
      throw Error(ErrorCode::Io, "cannot give " + f.path + " to " + f.owner);
  }

  const UserDataOptions& options_;
  ProcessRunner& runner_;
  fs::path dir_;
  fs::path log_;
};

}  // namespace

std::string instance_key(const std::optional<std::string>& instance_id,
                         std::string_view user_data) {
  if (instance_id && !instance_id->empty()) return safe_name(*instance_id);
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across builds and runs
  for (const char c : user_data) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string("no-id-") + buf;
}

std::vector<UserDataItem> collect_user_data(const Datasource& source) {
  std::vector<UserDataItem> items;
  if (const auto ctx = source.context()) {
    const auto files = source.files();
    auto names = ctx->init_scripts();
    if (names.empty() && !ctx->get("INIT_SCRIPTS")) names.push_back("init.sh");
    for (const auto& n : names) {
      const auto base = n.substr(n.find_last_of('/') + 1);
      for (const auto& f : files) {
        if (f.name == base)
          items.push_back({"INIT_SCRIPTS " + base, core::UserDataKind::Script, f.content});
      }
    }
    if (auto start = ctx->start_script())
      items.push_back({"START_SCRIPT", core::UserDataKind::Script, std::move(*start)});
  }
  if (const auto data = source.user_data()) {
    int n = 0;
    for (auto& part : core::parse_user_data(*data)) {
      char name[16];
      std::snprintf(name, sizeof name, "part-%03d", ++n);
      if (part.content_type == kVpnContentType) continue;  // the vpn step installs it
      items.push_back({name, part.kind, std::move(part.content)});
    }
  }
  return items;
}

bool UserDataOutcome::ok() const {
  for (const auto& p : parts) {
    if (!p.ok) return false;
  }
  return true;
}

UserDataOutcome run_user_data_once(const std::vector<UserDataItem>& items, const std::string& key,
                                   const UserDataOptions& options, ProcessRunner& runner) {
  UserDataOutcome out;
  const auto dir = under_root(options.root, options.state_dir) / "instances" / safe_name(key);
  out.marker = dir / "user-data.done";
  if (fs::exists(out.marker)) {
    out.already_ran = true;
    return out;
  }
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);  // scripts and their log may hold secrets
  Run run(options, runner, dir);
  for (const auto& it : items) {
    PartResult r;
    r.name = it.name;
    r.kind = core::to_string(it.kind);
    try {
      run.item(it, r);
    } catch (const Error& e) {
      r.ok = false;
      r.messages.emplace_back(e.what());
    }
    out.parts.push_back(std::move(r));
  }
  write_file_atomic(out.marker, std::to_string(out.parts.size()) + " part(s)\n", 0600);
  return out;
}

}  // namespace cloudtwin::agent
