// The notice board as JSON, to keep it across restarts. Pure: the daemon writes and
// reads the file (state dir, 0600, atomically).
#include <nlohmann/json.hpp>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/ctl.hpp"

namespace cloudtwin::metadata {

namespace {

using Json = nlohmann::json;
using SysClock = std::chrono::system_clock;

constexpr int kVersion = 1;

std::int64_t seconds(SysClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

SysClock::time_point at(std::int64_t s) { return SysClock::time_point(std::chrono::seconds(s)); }

Json events_json(const std::vector<NoticeBoard::MaintenanceEvent>& events) {
  Json out = Json::array();
  for (const auto& e : events) {
    out.push_back({{"id", e.id},
                   {"code", e.code},
                   {"description", e.description},
                   {"state", e.state},
                   {"not-before", seconds(e.not_before)},
                   {"not-after", seconds(e.not_after)}});
  }
  return out;
}

std::vector<NoticeBoard::MaintenanceEvent> events_from(const Json& j) {
  std::vector<NoticeBoard::MaintenanceEvent> out;
  for (const auto& e : j) {
    out.push_back({e.at("id").get<std::string>(), e.at("code").get<std::string>(),
                   e.at("description").get<std::string>(), e.at("state").get<std::string>(),
                   at(e.at("not-before").get<std::int64_t>()),
                   at(e.at("not-after").get<std::int64_t>())});
  }
  return out;
}

}  // namespace

std::string NoticeBoard::to_json() const {
  const std::lock_guard lock(mutex_);
  return to_json_locked();
}

std::string NoticeBoard::to_json_locked() const {
  Json vms = Json::object();
  for (const auto& [id, st] : states_) {
    Json vm = Json::object();
    if (!st.spot_action.empty()) {
      vm["spot-action"] = st.spot_action;
      vm["spot-time"] = seconds(st.spot_time);
    }
    if (!st.scheduled.empty()) vm["scheduled"] = events_json(st.scheduled);
    if (!st.history.empty()) vm["history"] = events_json(st.history);
    if (!st.rebalance_time.empty()) vm["rebalance-time"] = st.rebalance_time;
    if (!st.lifecycle.empty()) vm["lifecycle"] = st.lifecycle;
    vms[id] = std::move(vm);
  }
  const Json out = {{"notices-version", kVersion}, {"next-event", next_event_}, {"vms", vms}};
  return out.dump(1) + "\n";
}

void NoticeBoard::restore(std::string_view json, const std::string& source) {
  std::map<std::string, VmState> states;
  std::uint64_t next = 1;
  try {
    const auto root = Json::parse(json.begin(), json.end());
    if (root.at("notices-version").get<int>() != kVersion) {
      throw Error(ErrorCode::InvalidArgument,
                  source + ": notices-version " + root.at("notices-version").dump() + " is not " +
                      std::to_string(kVersion) + " (written by another version?)");
    }
    next = root.at("next-event").get<std::uint64_t>();
    for (const auto& [id, vm] : root.at("vms").items()) {
      VmState st;
      st.spot_action = vm.value("spot-action", "");
      st.spot_time = at(vm.value("spot-time", std::int64_t{0}));
      if (vm.contains("scheduled")) st.scheduled = events_from(vm.at("scheduled"));
      if (vm.contains("history")) st.history = events_from(vm.at("history"));
      st.rebalance_time = vm.value("rebalance-time", "");
      st.lifecycle = vm.value("lifecycle", "");
      states.emplace(id, std::move(st));
    }
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::InvalidArgument,
                source + ": not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::InvalidArgument, source + ": not a notice board: " + e.what());
  }
  const std::lock_guard lock(mutex_);
  states_ = std::move(states);
  next_event_ = std::max<std::uint64_t>(next, 1);
  notices_.clear();
  std::vector<std::string> ids;
  for (const auto& [id, st] : states_) ids.push_back(id);
  for (const auto& id : ids) publish_locked(id);
  empty_ = notices_.empty();
  ++version_;
}

}  // namespace cloudtwin::metadata
