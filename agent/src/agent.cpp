#include "cloudtwin/agent/agent.hpp"

#include <chrono>
#include <fstream>
#include <ostream>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/agent/network_render.hpp"
#include "cloudtwin/agent/users.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;

namespace {

// Runs one step, timing it; an Error becomes the step's result instead of ending the run.
template <typename F>
void step(StageReport& report, const std::string& name, F&& body) {
  StepReport s;
  s.name = name;
  const auto start = std::chrono::steady_clock::now();
  try {
    s.result = body(s.messages);
  } catch (const Error& e) {
    s.result = StepResult::Error;
    s.messages.emplace_back(e.what());
  } catch (const std::exception& e) {
    s.result = StepResult::Error;
    s.messages.push_back(std::string("internal error: ") + e.what());
  }
  s.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  report.steps.push_back(std::move(s));
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

Agent::Agent(AgentOptions options, std::vector<std::unique_ptr<Datasource>> sources,
             NetlinkFactory netlink, std::ostream& out, std::ostream& err,
             HostnameSetter set_hostname, ProcessRunner* runner, TunnelFactory tunnel)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      netlink_(std::move(netlink)),
      out_(out),
      err_(err),
      set_hostname_(std::move(set_hostname)),
      runner_(runner),
      tunnel_(std::move(tunnel)) {}

fs::path Agent::status_path() const {
  return under_root(options_.root, options_.state_dir) / "status.json";
}

// Before the first source that needs the network (EC2), and only when no NIC has an
// IPv4 address yet: address from the MAC, link up, route to 169.254.169.254.
void Agent::metadata_fallback(StageReport& report) {
  if (fallback_done_) return;
  fallback_done_ = true;
  step(report, "metadata-fallback", [&](std::vector<std::string>& messages) {
    auto netlink = netlink_();
    const auto observed = netlink->observe();
    const auto plan = plan_metadata_fallback(observed, options_.plan);
    if (plan.nics.empty()) {
      messages.emplace_back("an IPv4 address is already up, or no NIC's MAC carries the prefix");
      return StepResult::Skipped;
    }
    const auto outcome = apply_plan(*netlink, plan, observed);
    append(messages, outcome.applied);
    append(messages, outcome.warnings);
    append(messages, outcome.errors);
    return outcome.ok() ? StepResult::Ok : StepResult::Error;
  });
}

Datasource* Agent::find_source(StageReport& report, bool fallback_network) {
  const auto probed = probe_datasources(sources_, [&](Datasource& source) {
    if (fallback_network && source.needs_network()) metadata_fallback(report);
  });
  for (const auto& e : probed.errors) err_ << "cloudtwin-agent: " << e << "\n";
  if (probed.found) {
    report.datasource = probed.found->name();
    report.location = probed.found->location();
    try {
      report.instance_id = probed.found->instance_id().value_or("");
    } catch (const Error&) {
      // reported by the steps that need it
    }
    return probed.found;
  }
  report.datasource = "none";
  if (!probed.errors.empty()) {
    StepReport s{"datasource", StepResult::Error, 0, probed.errors};
    report.steps.push_back(s);
  }
  return nullptr;
}

int Agent::finish(StageReport& report) {
  report.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stage_start_)
          .count();
  fs::create_directories(status_path().parent_path());
  const std::string existing = read_or_empty(status_path());
  std::string json;
  try {
    json = merge_status_json(existing, report);
  } catch (const Error& e) {
    err_ << "cloudtwin-agent: " << status_path().string() << ": " << e.what() << "; replacing it\n";
    json = merge_status_json("", report);
  }
  std::ofstream(status_path(), std::ios::trunc) << json;
  for (const auto& s : report.steps) {
    for (const auto& m : s.messages) {
      (s.result == StepResult::Error ? err_ : out_) << "  " << s.name << ": " << m << "\n";
    }
  }
  out_ << summary_line(report) << "\n";
  return report.ok() ? 0 : 1;
}

int Agent::local() {
  StageReport report;
  report.stage = "local";
  stage_start_ = std::chrono::steady_clock::now();
  Datasource* source = find_source(report, true);
  if (!source) {
    if (report.steps.empty()) {
      out_ << "cloudtwin-agent local: no datasource found (no context CD, NoCloud or EC2 "
              "metadata); nothing changed\n";
      return 0;
    }
    return finish(report);
  }
  for (const auto& w : source->warnings()) err_ << "cloudtwin-agent: " << w << "\n";
  step(report, "network", [&](std::vector<std::string>& messages) {
    const auto plan = source->network_plan(options_.plan);
    if (plan.nics.empty() && plan.warnings.empty()) {
      messages.emplace_back("no NICs configured by the datasource");
      return StepResult::Skipped;
    }
    auto netlink = netlink_();
    const auto outcome = apply_plan(*netlink, plan);
    append(messages, outcome.applied);
    if (outcome.applied.empty()) messages.emplace_back("already configured");
    append(messages, outcome.warnings);
    append(messages, outcome.errors);
    return outcome.ok() ? StepResult::Ok : StepResult::Error;
  });
  step(report, "persist-network",
       [&](std::vector<std::string>& messages) { return persist_network(*source, messages); });
  return finish(report);
}

// The plan written for the distro's stack, so its own networking (and a later boot
// without the agent) keeps what `network` applied.
StepResult Agent::persist_network(const Datasource& source, std::vector<std::string>& messages) {
  const auto plan = source.network_plan(options_.plan);
  if (plan.nics.empty()) return StepResult::Skipped;
  // symlink_status: an enablement link's absolute target would resolve on the host under
  // --root, and the link itself is what says "enabled".
  const auto exists = [&](const std::string& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(under_root(options_.root, p), ec));
  };
  const auto masked = [&](const std::string& unit) {
    std::error_code ec;
    return fs::read_symlink(under_root(options_.root, "/etc/systemd/system/" + unit), ec) ==
           "/dev/null";
  };
  const auto renderer = choose_renderer(options_.renderer, exists, masked);
  // No systemd-networkd, NetworkManager or ifupdown (tiny guests, tests): the netlink
  // configuration is all there is, applied again at every boot.
  if (!renderer) return StepResult::Skipped;
  Rendered r;
  if (*renderer == Renderer::Networkd) r = render_networkd(plan);
  if (*renderer == Renderer::NetworkManager) r = render_networkmanager(plan);
  if (*renderer == Renderer::Ifupdown) r = render_ifupdown(plan, netlink_()->observe());
  const bool resolved =
      exists("/lib/systemd/systemd-resolved") || exists("/usr/lib/systemd/systemd-resolved");
  if (auto dns = render_dns(plan, resolved)) r.files.push_back(*dns);
  append(messages, install_network_files(options_.root, r.files));
  if (messages.empty())
    messages.push_back(std::string(to_string(*renderer)) + " configuration already up to date");
  append(messages, r.warnings);
  return StepResult::Ok;
}

int Agent::final_stage() {
  StageReport report;
  report.stage = "final";
  stage_start_ = std::chrono::steady_clock::now();
  Datasource* source = find_source(report, false);
  if (!source) {
    if (report.steps.empty()) {
      out_ << "cloudtwin-agent final: no datasource found; nothing changed\n";
      return 0;
    }
    return finish(report);
  }
  step(report, "hostname", [&](std::vector<std::string>& messages) {
    const auto name = source->hostname();
    if (!name) return StepResult::Skipped;
    append(messages, install_hostname(options_.root, *name));
    if (messages.empty()) messages.push_back("host name already " + *name);
    if (options_.set_kernel_hostname && set_hostname_) set_hostname_(*name);
    report.hostname = *name;
    return StepResult::Ok;
  });
  std::string user = "root";
  if (const auto ctx = source->context()) user = ctx->username().value_or("root");
  step(report, "users", [&](std::vector<std::string>& messages) {
    if (user == "root") return StepResult::Skipped;
    append(messages, ensure_user(options_.root, user));
    const auto ctx = source->context();
    if (ctx && ctx->flag("SUDO")) append(messages, install_sudo(options_.root, user, ""));
    if (messages.empty()) messages.push_back("user " + user + " already exists");
    return StepResult::Ok;
  });
  step(report, "ssh-keys", [&](std::vector<std::string>& messages) {
    const auto keys = source->ssh_public_keys();
    if (keys.empty()) return StepResult::Skipped;
    append(messages, install_ssh_keys(options_.root, user, keys));
    if (messages.empty()) messages.push_back("authorized_keys of " + user + " already up to date");
    return StepResult::Ok;
  });
  step(report, "user-data", [&](std::vector<std::string>& messages) {
    // A bad encoding or MIME throws here: reported as this step's error, never fatal.
    const auto items = collect_user_data(*source);
    if (items.empty()) return StepResult::Skipped;
    if (!runner_) {
      messages.emplace_back("no process runner: user-data not run");
      return StepResult::Skipped;
    }
    std::string all;
    for (const auto& it : items) all += it.content;
    const auto key = instance_key(source->instance_id(), all);
    UserDataOptions o{options_.root, options_.state_dir, user};
    const auto outcome = run_user_data_once(items, key, o, *runner_);
    if (outcome.already_ran) {
      messages.push_back("already ran for instance " + key + " (" + outcome.marker.string() + ")");
      return StepResult::Skipped;
    }
    for (const auto& p : outcome.parts) {
      report.parts.push_back({p.name, p.kind, p.exit_code.value_or(-1), p.ok});
      for (const auto& m : p.messages) messages.push_back(p.name + ": " + m);
    }
    return outcome.ok() ? StepResult::Ok : StepResult::Error;
  });
  // After user-data: a #cloud-config write_files entry may have delivered the profile.
  step(report, "vpn", [&](std::vector<std::string>& messages) {
    VpnJoinOptions o;
    o.root = options_.root;
    o.wait = options_.vpn_wait;
    auto service = [&]() -> std::unique_ptr<TunnelService> {
      if (!tunnel_) throw Error(ErrorCode::System, "no way to start openvpn in this agent");
      return tunnel_();
    };
    auto joined = join_vpn(*source, o, service, netlink_);
    append(messages, joined.messages);
    report.vpn = joined.tunnel;
    return joined.result;
  });
  return finish(report);
}

int Agent::status() {
  if (!fs::exists(status_path())) {
    // Still JSON: a tiny guest's /init reads whatever this prints between its markers.
    err_ << "cloudtwin-agent: no report yet (" << status_path().string() << " does not exist)\n";
    out_ << "{\"stages\": {}}\n";
    return 0;
  }
  out_ << read_or_empty(status_path());
  return 0;
}

}  // namespace cloudtwin::agent
