#include "cloudtwin/agent/report.hpp"

// JSON through nlohmann-json (header-only): the agent loads no Poco at boot.
#include <nlohmann/json.hpp>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

const char* to_string(StepResult r) noexcept {
  switch (r) {
    case StepResult::Ok:
      return "ok";
    case StepResult::Skipped:
      return "skipped";
    case StepResult::Error:
      return "error";
  }
  return "?";
}

bool StageReport::ok() const noexcept {
  for (const auto& s : steps) {
    if (s.result == StepResult::Error) return false;
  }
  return true;
}

std::string summary_line(const StageReport& report) {
  std::size_t ok = 0, errors = 0, skipped = 0;
  for (const auto& s : report.steps) {
    if (s.result == StepResult::Ok)
      ++ok;
    else if (s.result == StepResult::Error)
      ++errors;
    else
      ++skipped;
  }
  std::string line = "cloudtwin-agent " + report.stage + ": " + report.datasource;
  if (!report.location.empty()) line += " (" + report.location + ")";
  line += ": " + std::to_string(ok) + " ok, " + std::to_string(skipped) + " skipped, " +
          std::to_string(errors) + (errors == 1 ? " error" : " errors");
  for (const auto& s : report.steps) {
    if (s.result == StepResult::Error) line += "; " + s.name + " failed";
  }
  return line;
}

std::string merge_status_json(std::string_view existing, const StageReport& report) {
  using nlohmann::json;
  json doc = json::object();
  if (!existing.empty()) {
    try {
      doc = json::parse(existing);
    } catch (const json::exception& e) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("status report is not JSON: ") + e.what());
    }
    if (!doc.is_object()) throw Error(ErrorCode::InvalidArgument, "status report is not an object");
  }
  json& stages = doc["stages"];
  if (!stages.is_object()) stages = json::object();
  json stage = {{"datasource", report.datasource},
                {"location", report.location},
                {"instance-id", report.instance_id},
                {"duration-ms", report.duration_ms},
                {"ok", report.ok()},
                {"summary", summary_line(report)}};
  json steps = json::array();
  for (const auto& s : report.steps) {
    steps.push_back({{"name", s.name},
                     {"result", to_string(s.result)},
                     {"duration-ms", s.duration_ms},
                     {"messages", s.messages}});
  }
  stage["steps"] = std::move(steps);
  if (!report.hostname.empty()) stage["hostname"] = report.hostname;
  json parts = json::array();
  for (const auto& p : report.parts) {
    json part = {{"name", p.name}, {"kind", p.kind}, {"ok", p.ok}};
    if (p.exit_code >= 0) part["exit-code"] = p.exit_code;
    parts.push_back(std::move(part));
  }
  stage["user-data-parts"] = std::move(parts);
  if (report.vpn) {
    json vpn = {{"state", report.vpn->state},
                {"interface", report.vpn->interface},
                {"addresses", report.vpn->addresses},
                {"manager", report.vpn->manager},
                {"profile", report.vpn->profile}};
    if (report.vpn->pid > 0) vpn["pid"] = report.vpn->pid;
    stage["vpn"] = std::move(vpn);
  }
  stages[report.stage] = std::move(stage);
  // Invalid UTF-8 from a datasource (a hostname, a script's name) is replaced, not fatal.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace cloudtwin::agent
