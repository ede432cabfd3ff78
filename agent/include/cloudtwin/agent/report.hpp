#pragma once
// The run report: which datasource, each step with its duration and result. Written as
// JSON to the state dir by every stage; `cloudtwin-agent status` prints it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::agent {

enum class StepResult { Ok, Skipped, Error };
const char* to_string(StepResult r) noexcept;

struct StepReport {
  std::string name;
  StepResult result = StepResult::Ok;
  double duration_ms = 0;
  std::vector<std::string> messages;  // what was done, warnings, errors
};

// One user-data part (script, cloud-config, START_SCRIPT) and how it ended.
struct PartReport {
  std::string name;
  std::string kind;
  int exit_code = -1;  // -1: nothing was executed
  bool ok = true;
};

// The overlay tunnel as the vpn step last saw it.
struct TunnelReport {
  std::string state;  // "up" | "connecting" (no tap yet, or tap without address) | "down"
  std::string interface;
  std::vector<std::string> addresses;  // "192.168.77.50/24"
  std::string manager;                 // who keeps openvpn running
  int pid = 0;                         // the supervisor's, 0 under systemd or unknown
  std::string profile;                 // installed profile path
};

struct StageReport {
  std::string stage;       // local | final
  std::string datasource;  // "context-cd", or "none"
  std::string location;
  std::string instance_id;
  std::vector<StepReport> steps;
  double duration_ms = 0;  // the whole stage
  std::string hostname;
  std::vector<PartReport> parts;
  std::optional<TunnelReport> vpn;
  bool ok() const noexcept;
};

// One line for the console: "cloudtwin-agent local: context-cd (/dev/sr0): 2 steps ok, 0 errors".
std::string summary_line(const StageReport& report);

// Merges the stage into an existing status document (or "" for none): the document keeps
// one entry per stage, so `final` does not erase what `local` reported. Throws
// Error(InvalidArgument) when `existing` is not a status document.
std::string merge_status_json(std::string_view existing, const StageReport& report);

}  // namespace cloudtwin::agent
