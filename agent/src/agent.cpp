#include "cloudtwin/agent/agent.hpp"

#include <chrono>
#include <fstream>
#include <ostream>

#include "cloudtwin/agent/access.hpp"
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
             HostnameSetter set_hostname)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      netlink_(std::move(netlink)),
      out_(out),
      err_(err),
      set_hostname_(std::move(set_hostname)) {}

fs::path Agent::status_path() const {
  return under_root(options_.root, options_.state_dir) / "status.json";
}

Datasource* Agent::find_source(StageReport& report) {
  const auto probed = probe_datasources(sources_);
  for (const auto& e : probed.errors) err_ << "cloudtwin-agent: " << e << "\n";
  if (probed.found) {
    report.datasource = probed.found->name();
    report.location = probed.found->location();
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
  Datasource* source = find_source(report);
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
  return finish(report);
}

int Agent::final_stage() {
  StageReport report;
  report.stage = "final";
  Datasource* source = find_source(report);
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
    return StepResult::Ok;
  });
  step(report, "ssh-keys", [&](std::vector<std::string>& messages) {
    const auto keys = source->ssh_public_keys();
    if (keys.empty()) return StepResult::Skipped;
    std::string user = "root";
    if (const auto ctx = source->context()) user = ctx->username().value_or("root");
    append(messages, install_ssh_keys(options_.root, user, keys));
    if (messages.empty()) messages.push_back("authorized_keys of " + user + " already up to date");
    return StepResult::Ok;
  });
  step(report, "user-data", [&](std::vector<std::string>& messages) {
    const auto data = source->user_data();  // throws for bad encodings: reported, not fatal
    if (!data) return StepResult::Skipped;
    messages.push_back(std::to_string(data->size()) +
                       " bytes decoded; running user-data is not implemented yet");
    return StepResult::Skipped;
  });
  return finish(report);
}

int Agent::status() {
  if (!fs::exists(status_path())) {
    out_ << "cloudtwin-agent: no report yet (" << status_path().string() << " does not exist)\n";
    return 0;
  }
  out_ << read_or_empty(status_path());
  return 0;
}

}  // namespace cloudtwin::agent
