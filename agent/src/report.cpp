#include "cloudtwin/agent/report.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

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
  Poco::JSON::Object::Ptr doc = new Poco::JSON::Object;
  if (!existing.empty()) {
    try {
      auto parsed = Poco::JSON::Parser().parse(std::string(existing));
      doc = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception& e) {
      throw Error(ErrorCode::InvalidArgument, "status report is not JSON: " + e.displayText());
    } catch (const std::exception& e) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("status report is not an object: ") + e.what());
    }
  }
  Poco::JSON::Object::Ptr stages = doc->getObject("stages");
  if (!stages) {
    stages = new Poco::JSON::Object;
    doc->set("stages", stages);
  }
  Poco::JSON::Object::Ptr stage = new Poco::JSON::Object;
  stage->set("datasource", report.datasource);
  stage->set("location", report.location);
  stage->set("instance_id", report.instance_id);
  stage->set("duration_ms", report.duration_ms);
  stage->set("ok", report.ok());
  stage->set("summary", summary_line(report));
  Poco::JSON::Array::Ptr steps = new Poco::JSON::Array;
  for (const auto& s : report.steps) {
    Poco::JSON::Object::Ptr step = new Poco::JSON::Object;
    step->set("name", s.name);
    step->set("result", std::string(to_string(s.result)));
    step->set("duration_ms", s.duration_ms);
    Poco::JSON::Array::Ptr messages = new Poco::JSON::Array;
    for (const auto& m : s.messages) messages->add(m);
    step->set("messages", messages);
    steps->add(step);
  }
  stage->set("steps", steps);
  if (!report.hostname.empty()) stage->set("hostname", report.hostname);
  Poco::JSON::Array::Ptr parts = new Poco::JSON::Array;
  for (const auto& p : report.parts) {
    Poco::JSON::Object::Ptr part = new Poco::JSON::Object;
    part->set("name", p.name);
    part->set("kind", p.kind);
    if (p.exit_code >= 0) part->set("exit_code", p.exit_code);
    part->set("ok", p.ok);
    parts->add(part);
  }
  stage->set("user_data_parts", parts);
  if (report.vpn) {
    Poco::JSON::Object::Ptr vpn = new Poco::JSON::Object;
    vpn->set("state", report.vpn->state);
    vpn->set("interface", report.vpn->interface);
    Poco::JSON::Array::Ptr addresses = new Poco::JSON::Array;
    for (const auto& a : report.vpn->addresses) addresses->add(a);
    vpn->set("addresses", addresses);
    vpn->set("manager", report.vpn->manager);
    if (report.vpn->pid > 0) vpn->set("pid", report.vpn->pid);
    vpn->set("profile", report.vpn->profile);
    stage->set("vpn", vpn);
  }
  stages->set(report.stage, stage);
  std::ostringstream out;
  doc->stringify(out, 2);
  out << "\n";
  return out.str();
}

}  // namespace cloudtwin::agent
