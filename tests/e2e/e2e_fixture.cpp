#include "e2e_fixture.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::e2e {

namespace fs = std::filesystem;

namespace {

std::string missing_prerequisite() {
  if (geteuid() != 0) return "needs root (network and mount namespaces, libvirtd)";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is missing";
  for (const char* p : {"qemu-system-x86_64", "libvirtd", "virtlogd", "virsh", "ip", "busybox",
                        "unshare", "nsenter", "iptables", "dnsmasq", "gzip"}) {
    if (!vm::find_program(p)) {
      return std::string(p) + " is not installed (scripts/install-deps.sh installs it)";
    }
  }
  return "";
}

std::string trim(std::string_view s) { return std::string(core::trim(s)); }

// The text after "@@KEY=" up to the end of its line, in console output after `from`.
std::string console_value(const std::string& log, const std::string& key, std::size_t from) {
  const auto tag = "@@" + key + "=";
  const auto at = log.find(tag, from);
  if (at == std::string::npos) return "<no " + key + ">";
  const auto start = at + tag.size();
  return trim(log.substr(start, log.find_first_of("\r\n", start) - start));
}

}  // namespace

std::string E2e::prepare() {
  if (auto why = missing_prerequisite(); !why.empty()) return why;
  const auto start = Clock::now();
  const auto out = vm::run_checked({CLOUDTWIN_SOURCE_DIR "/scripts/build-tiny-guest.sh",
                                    CLOUDTWIN_E2E_GUEST_DIR, "--agent", CLOUDTWIN_AGENT},
                                   300s);
  std::printf("[ timing   ] guest build %.2f s: %s", seconds_since(start), out.c_str());
  tmp_ = std::make_unique<vm::TempDir>("cloudtwin-e2e");
  ::chmod(work().c_str(), 0711);  // qemu runs as libvirt-qemu: it must reach the guest files
  fs::create_directories(work() / "guest");
  fs::create_directories(work() / "instances");
  fs::create_directories(work() / "images");
  fs::copy_file(fs::path(CLOUDTWIN_E2E_GUEST_DIR) / "vmlinuz", kernel());
  fs::copy_file(fs::path(CLOUDTWIN_E2E_GUEST_DIR) / "initrd.img", initrd());
  std::ofstream(work() / "host.conf")
      << "[libvirt]\nuri = qemu:///system\ndomain_type = qemu\n"
      << "[storage]\ninstances = " << (work() / "instances").string()
      << "\nimages = " << (work() / "images").string() << "\n[network]\nnwfilter = none\n";
  std::ofstream(work() / "key.pub") << kSshKey << "\n";
  return "";
}

void E2e::start_sandbox_with_network() {
  const auto start = Clock::now();
  sandbox_ = std::make_unique<Sandbox>(CLOUDTWIN_SOURCE_DIR "/tests/e2e/sandbox.sh",
                                       work() / "sandbox", CLOUDTWIN_E2E_CACHE_DIR);
  netns_ = sandbox_->netns();
  std::printf("[ timing   ] sandbox (libvirtd in %s) %.2f s\n", netns_.c_str(),
              seconds_since(start));
  const auto r = ct({"net", "create", kNetwork, "--cidr", kCidr});
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

vm::CommandResult E2e::ct(const std::vector<std::string>& args) {
  std::vector<std::string> argv{CLOUDTWIN_CLI, "--config", (work() / "host.conf").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return sandbox_->exec(argv, 120s);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Vm E2e::create_tiny_vm(const std::string& name, const std::string& cmdline_extra,
                       const std::string& context, bool eject_cd) {
  CdChange cd;
  cd.eject = eject_cd;
  return create_tiny_vm(name, cmdline_extra, context, cd, "");
}

Vm E2e::create_tiny_vm(const std::string& name, const std::string& cmdline_extra,
                       const std::string& context, const CdChange& cd,
                       const std::string& template_extra) {
  if (!sandbox_) start_sandbox_with_network();
  const auto tmpl = work() / (name + ".tmpl");
  std::ofstream t(tmpl);
  t << "MEMORY = 256\n"
    << "OS = [ KERNEL = \"" << kernel().string() << "\", INITRD = \"" << initrd().string()
    << "\",\n       KERNEL_CMD = \"console=ttyS0 panic=-1 cloudtwin.agent=1 cloudtwin.keep=1"
    << (cmdline_extra.empty() ? "" : " " + cmdline_extra) << "\" ]\n"
    << "NIC = [ NETWORK = \"" << kNetwork << "\" ]\n";
  if (!context.empty()) t << "CONTEXT = [ " << context << " ]\n";
  if (cd.eject) t << "CONTEXT_CD = NO\n";  // as on EC2: the context comes from the IMDS
  if (!cd.replace_with.empty()) {
    // Instead of the CD `vm create` writes, the guest gets this image (labelled CONTEXT) as a
    // read-only disk from the start: no live media change racing the guest's kernel.
    t << "CONTEXT_CD = NO\nDISK = [ SOURCE = \"" << cd.replace_with.string()
      << "\", READONLY = YES ]\n";
  }
  t << template_extra;
  t.close();
  Vm vm;
  vm.name = name;
  vm.hostname = name;
  const auto r = ct(
      {"vm", "create", tmpl.string(), "--name", name, "--ssh-key", (work() / "key.pub").string()});
  vm.created = Clock::now();
  if (r.exit_code != 0) throw Error(ErrorCode::System, "vm create failed:\n" + r.output);
  std::smatch m;
  if (!std::regex_search(r.output, m, std::regex(R"(([0-9.]+)@)"))) {
    throw Error(ErrorCode::System, "vm create printed no address:\n" + r.output);
  }
  vm.ip = m[1];
  const auto pty = trim(sandbox_->checked({"virsh", "-c", "qemu:///system", "ttyconsole", name}));
  vm.console = std::make_unique<Console>(pty, work() / (name + ".console.log"));
  return vm;
}

Status E2e::boot_and_read_status(Vm& vm, std::size_t from) {
  Status s;
  const auto log = vm.console->wait_for("CLOUDTWIN-BOOT-SECONDS=", 150s, from).substr(from);
  s.wall_s = seconds_since(vm.created);
  const auto json = vm::text_between(log, kStatusBegin, kStatusEnd);
  if (!json) throw Error(ErrorCode::Io, "no status JSON on the console:\n" + log);
  s.json = *json;
  s.uptime_s = std::stod(vm::line_value(log, "CLOUDTWIN-BOOT-SECONDS").value_or("0"));
  std::printf("[ timing   ] %s: vm create -> status printed %.2f s wall, guest uptime %.2f s\n",
              vm.name.c_str(), s.wall_s, s.uptime_s);
  RecordProperty(vm.name + "_create_to_status_ms", static_cast<int>(s.wall_s * 1000));
  RecordProperty(vm.name + "_guest_uptime_ms", static_cast<int>(s.uptime_s * 1000));
  return s;
}

void E2e::check_guest_state(Vm& vm) {
  vm.console->wait_for(kShellUp, 30s);
  const auto from = vm.console->log().size();
  // "@@""X=" keeps the marker out of the echoed command line.
  vm.console->send(
      "echo \"@@\"\"HOST=$(hostname)\"; "
      "echo \"@@\"\"ADDR=$(ip -4 -o addr show dev eth0 | awk '{print $4}')\"; "
      "echo \"@@\"\"MAC=$(cat /sys/class/net/eth0/address)\"; "
      "echo \"@@\"\"KEY=$(cat /root/.ssh/authorized_keys)\"; "
      "echo \"@@\"\"MARK=$(cat /run/marker)\"; "
      "mkdir -p /tmp/www; hostname > /tmp/www/index.html; httpd -p 8080 -h /tmp/www; "
      "echo \"@@\"\"DONE=1\"");
  const auto log = vm.console->wait_for("@@DONE=", 30s, from);
  EXPECT_EQ(console_value(log, "HOST", from), vm.hostname) << log.substr(from);
  if (!vm.marker.empty()) {
    EXPECT_EQ(console_value(log, "MARK", from), vm.marker) << "user-data ran:\n"
                                                           << log.substr(from);
  }
  EXPECT_EQ(console_value(log, "ADDR", from), vm.ip + "/24") << log.substr(from);
  const auto ip = core::Ipv4::parse(vm.ip);
  EXPECT_EQ(console_value(log, "MAC", from), core::mac_from_ipv4(ip).to_string())
      << "the MAC carries the address (02:00 + IPv4 bytes)";
  EXPECT_EQ(console_value(log, "KEY", from), kSshKey) << log.substr(from);
}

void E2e::check_reachable(Vm& vm) {
  vm::CommandResult ping;
  for (int attempt = 0; attempt < 3 && (attempt == 0 || ping.exit_code != 0); ++attempt) {
    ping = sandbox_->exec({"busybox", "ping", "-c1", "-W2", vm.ip}, 10s);
  }
  EXPECT_EQ(ping.exit_code, 0) << "no ping reply from " << vm.ip << ":\n" << ping.output;
  // busybox wget's -T crashes (TESTBED.md): bound it with timeout(1).
  vm::CommandResult tcp;
  for (int attempt = 0; attempt < 3 && (attempt == 0 || tcp.exit_code != 0); ++attempt) {
    tcp = sandbox_->exec({"timeout", "5", "busybox", "wget", "-q", "-O", "-",
                          "http://" + vm.ip + ":8080/index.html"},
                         10s);
  }
  EXPECT_EQ(tcp.exit_code, 0) << tcp.output;
  EXPECT_EQ(trim(tcp.output), vm.hostname) << "TCP 8080 on the guest served its host name";
}

void E2e::start_metadata_service(const std::string& log_name) {
  fs::create_directories(work() / "records");
  start_metadata(log_name, {"--instances", (work() / "records").string()});
}

void E2e::start_metadata_service_from_libvirt(const std::string& log_name) {
  start_metadata(log_name,
                 {"--libvirt", "qemu:///system", "--ctl-socket", metadata_ctl_socket().string()});
}

void E2e::start_metadata(const std::string& log_name, const std::vector<std::string>& source) {
  const auto log = work() / log_name;
  // The sandbox shares this PID namespace: $! is a PID the test can kill.
  std::vector<std::string> argv{"sh",
                                "-c",
                                "\"$@\" >\"$0\" 2>&1 & echo $!",
                                log.string(),
                                CLOUDTWIN_METADATA,
                                "--listen",
                                "169.254.169.254:80",
                                "--identity-key",
                                (work() / "identity.key").string(),
                                "--identity-cert",
                                (work() / "identity.crt").string(),
                                "--access-log"};
  argv.insert(argv.end(), source.begin(), source.end());
  const auto pid = sandbox_->checked(argv);
  metadata_pid_ = static_cast<pid_t>(std::stol(pid));
  for (int i = 0; i < 100; ++i) {
    if (read_text(log).find("listening on") != std::string::npos) return;
    std::this_thread::sleep_for(100ms);
  }
  FAIL() << "cloudtwin-metadata did not start:\n" << read_text(log);
}

void E2e::kill_metadata_service() {
  ASSERT_GT(metadata_pid_, 0) << "no cloudtwin-metadata started";
  ASSERT_EQ(::kill(metadata_pid_, SIGKILL), 0) << "kill " << metadata_pid_;
  for (int i = 0; i < 50 && ::kill(metadata_pid_, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
  metadata_pid_ = 0;
}

nlohmann::json E2e::vm_record(const std::string& name) {
  const auto show = sandbox_->checked(
      {CLOUDTWIN_CLI, "--config", (work() / "host.conf").string(), "vm", "show", name, "--json"});
  const auto doc = nlohmann::json::parse(show, nullptr, false);
  if (!doc.is_object() || !doc.contains("record") || !doc["record"].is_object() ||
      !doc["record"].contains("instance-id")) {
    throw Error(ErrorCode::InvalidArgument, "vm show " + name + " --json: no record:\n" + show);
  }
  return doc["record"];
}

std::string E2e::instance_id(const std::string& name) {
  return vm_record(name)["instance-id"].get<std::string>();
}

void E2e::write_instance_record(const Vm& vm, const std::string& hostname,
                                const std::string& user_data) {
  auto record = vm_record(vm.name);  // the record `vm create` put in the domain
  record["local-hostname"] = hostname;
  record["hostname"] = hostname;
  record.erase("user-data-base64");  // how vm create writes it; one of the two only
  record["user-data"] = user_data;
  record["metadata-options"]["http-tokens"] = "required";
  const auto tmp = work() / "records" / ("." + vm.name + ".tmp");
  std::ofstream(tmp) << record.dump(2) << "\n";
  fs::rename(tmp, work() / "records" / (vm.name + ".json"));  // the service re-reads the dir
}

void E2e::delete_and_check_nothing_left(const std::string& name) {
  const auto start = Clock::now();
  const auto r = ct({"vm", "delete", name});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  std::printf("[ timing   ] vm delete %.2f s\n", seconds_since(start));
  expect_nothing_left(name);
}

void E2e::expect_nothing_left(const std::string& name) {
  const auto domains =
      sandbox_->checked({"virsh", "-c", "qemu:///system", "list", "--all", "--name"});
  EXPECT_EQ(domains.find(name), std::string::npos) << "libvirt still has the domain:\n" << domains;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(work() / "instances")) {
    if (e.path().filename() != ".lock") left.push_back(e.path().string());
  }
  EXPECT_TRUE(left.empty()) << "left in the instances dir: " << (left.empty() ? "" : left[0]);
  const auto net = ct({"net", "show", kNetwork, "--json"});
  EXPECT_NE(net.output.find("\"reservations\":[]"), std::string::npos)
      << "a DHCP reservation is left:\n"
      << net.output;
  const auto hosts =
      sandbox_->exec({"cat", "/var/lib/libvirt/dnsmasq/" + std::string(kNetwork) + ".hostsfile"});
  EXPECT_EQ(hosts.output.find(name), std::string::npos) << "dnsmasq still knows it:\n"
                                                        << hosts.output;
  const auto links = sandbox_->checked({"ip", "-o", "link", "show"});
  EXPECT_EQ(links.find("vnet"), std::string::npos) << "a tap is left:\n" << links;
  const auto pids = vm::run_checked({"ip", "netns", "pids", netns_});
  std::istringstream in(pids);
  for (std::string pid; in >> pid;) {
    std::ifstream comm("/proc/" + pid + "/comm");
    std::string c;
    std::getline(comm, c);
    EXPECT_EQ(c.find("qemu"), std::string::npos) << "a qemu process (" << pid << ") is left";
  }
}

void E2e::TearDown() {
  if (!sandbox_) return;
  sandbox_->stop();
  const auto list = vm::run_command({"ip", "netns", "list"}).output;
  EXPECT_EQ(list.find(netns_ + " "), std::string::npos) << "namespace left: " << list;
  EXPECT_EQ(list.find(netns_ + "\n"), std::string::npos) << "namespace left: " << list;
  sandbox_.reset();
}

}  // namespace cloudtwin::e2e
