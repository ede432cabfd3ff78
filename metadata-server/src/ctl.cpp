#include "cloudtwin/metadata/ctl.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <set>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/identity_credentials.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::metadata {

namespace {

using SysClock = std::chrono::system_clock;

std::tm utc(SysClock::time_point t) {
  const std::time_t secs = SysClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

[[noreturn]] void usage(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument,
              what +
                  " (commands: list; spot VM terminate|stop|hibernate|clear [--in SECONDS]; "
                  "event VM maintenance CODE [--in S] [--duration S] [--description TEXT]; "
                  "event VM complete|cancel EVENT-ID; rebalance VM [clear]; "
                  "lifecycle VM STATE|clear; clear VM)");
}

long seconds(const std::string& text, const std::string& option) {
  long n = -1;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < 0 || n > 366L * 86400) {
    usage(option + " takes seconds (0 up to a year), got '" + text + "'");
  }
  return n;
}

// Options after the positional words: "--in 30 --duration 600 ..." -> map.
std::map<std::string, std::string> options(const std::vector<std::string>& args, std::size_t from,
                                           const std::set<std::string>& allowed) {
  std::map<std::string, std::string> out;
  for (std::size_t i = from; i < args.size(); i += 2) {
    if (!allowed.count(args[i])) usage("unexpected '" + args[i] + "'");
    if (i + 1 >= args.size()) usage("option '" + args[i] + "' needs a value");
    out[args[i]] = args[i + 1];
  }
  return out;
}

std::string maintenance_json(const std::vector<NoticeBoard::MaintenanceEvent>& events) {
  if (events.empty()) return "[]";
  std::string out = "[ ";
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    out += (i ? ", " : "") + std::string("{\n") +
           "  \"NotBefore\" : " + record::json_quote(http_date_utc(e.not_before)) + ",\n" +
           "  \"Code\" : " + record::json_quote(e.code) + ",\n" +
           "  \"Description\" : " + record::json_quote(e.description) + ",\n" +
           "  \"EventId\" : " + record::json_quote(e.id) + ",\n" +
           "  \"NotAfter\" : " + record::json_quote(http_date_utc(e.not_after)) + ",\n" +
           "  \"State\" : " + record::json_quote(e.state) + "\n}";
  }
  return out + " ]";
}

const std::set<std::string> kEventCodes = {"instance-reboot", "system-reboot", "system-maintenance",
                                           "instance-retirement", "instance-stop"};
const std::set<std::string> kLifecycleStates = {
    "Pending",        "InService",      "Standby",        "Terminated",        "Detached",
    "Warmed:Pending", "Warmed:Running", "Warmed:Stopped", "Warmed:Hibernated", "Warmed:Terminated"};

}  // namespace

std::string http_date_utc(SysClock::time_point t) {
  const auto tm = utc(t);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, "%d %b %Y %H:%M:%S GMT", &tm));
}

std::string NoticeBoard::list(const std::vector<std::shared_ptr<const ServedInstance>>& vms) const {
  std::string out = "INSTANCE-ID NAME ADDRESSES NOTICES\n";
  for (const auto& vm : vms) {
    const auto& id = vm->instance.instance_id;
    std::string addresses;
    for (const auto& a : vm->instance.caller_addresses())
      addresses += (addresses.empty() ? "" : ",") + a;
    std::string notes;
    if (const auto s = states_.find(id); s != states_.end()) {
      const auto& st = s->second;
      if (!st.spot_action.empty()) notes += " spot:" + st.spot_action;
      if (!st.scheduled.empty()) notes += " maintenance:" + std::to_string(st.scheduled.size());
      if (!st.rebalance_time.empty()) notes += " rebalance";
      if (!st.lifecycle.empty()) notes += " lifecycle:" + st.lifecycle;
    }
    out += id + " " + (vm->name.empty() ? "-" : vm->name) + " " +
           (addresses.empty() ? "-" : addresses) + " " + (notes.empty() ? "-" : notes.substr(1)) +
           "\n";
  }
  return out;
}

void NoticeBoard::publish_locked(const std::string& id) {
  const auto& st = states_[id];
  auto n = std::make_shared<Notices>();
  if (!st.spot_action.empty()) {
    n->spot_instance_action =
        "{\"action\": " + record::json_quote(st.spot_action) +
        ", \"time\": " + record::json_quote(record::iso8601_utc(st.spot_time)) + "}";
    // EC2 sets termination-time when it is going to shut the instance down.
    if (st.spot_action != "hibernate") n->spot_termination_time = record::iso8601_utc(st.spot_time);
  }
  n->maintenance_scheduled = maintenance_json(st.scheduled);
  n->maintenance_history = maintenance_json(st.history);
  if (!st.rebalance_time.empty())
    n->rebalance = "{\"noticeTime\": " + record::json_quote(st.rebalance_time) + "}";
  n->lifecycle_state = st.lifecycle;
  if (*n == Notices{}) {
    states_.erase(id);
    notices_.erase(id);
  } else {
    notices_[id] = std::move(n);
  }
  empty_ = notices_.empty();
  ++version_;
}

std::string NoticeBoard::execute(const std::vector<std::string>& args,
                                 const std::vector<std::shared_ptr<const ServedInstance>>& vms,
                                 SysClock::time_point now) {
  if (args.empty()) usage("no command given");
  const std::lock_guard lock(mutex_);
  if (args[0] == "list") return list(vms);
  static const std::set<std::string> kVerbs = {"spot", "event", "rebalance", "lifecycle", "clear"};
  if (!kVerbs.count(args[0])) usage("unknown command '" + args[0] + "'");
  if (args.size() < 2) usage("'" + args[0] + "' needs a VM (instance-id or name)");
  std::shared_ptr<const ServedInstance> vm;
  for (const auto& v : vms) {
    if (v->instance.instance_id == args[1] || (!v->name.empty() && v->name == args[1])) vm = v;
  }
  if (!vm) {
    throw Error(ErrorCode::NotFound,
                "no VM '" + args[1] + "' is served (see `cloudtwin-metadata ctl list`)");
  }
  const auto id = vm->instance.instance_id;
  auto& st = states_[id];
  const auto what = args.size() > 2 ? args[2] : std::string();
  std::string reply = id + ": ";
  if (args[0] == "clear") {
    if (args.size() != 2) usage("'clear' takes only a VM");
    st = VmState{};
    reply += "all notices cleared";
  } else if (args[0] == "spot") {
    if (what == "clear") {
      st.spot_action.clear();
      reply += "spot notice cleared";
    } else if (what == "terminate" || what == "stop" || what == "hibernate") {
      const auto o = options(args, 3, {"--in"});
      const long in = o.count("--in")       ? seconds(o.at("--in"), "--in")
                      : what == "hibernate" ? 0
                                            : 120;
      st.spot_action = what;
      st.spot_time = now + std::chrono::seconds(in);
      reply += "spot " + what + " at " + record::iso8601_utc(st.spot_time);
    } else {
      usage("spot takes terminate, stop, hibernate or clear");
    }
  } else if (args[0] == "event") {
    if (what == "maintenance") {
      if (args.size() < 4 || !kEventCodes.count(args[3]))
        usage(
            "event maintenance takes a code: instance-reboot, system-reboot, "
            "system-maintenance, instance-retirement or instance-stop");
      const auto o = options(args, 4, {"--in", "--duration", "--description"});
      MaintenanceEvent e;
      char hex[18];
      std::snprintf(hex, sizeof hex, "%017llx", static_cast<unsigned long long>(next_event_++));
      e.id = std::string("instance-event-") + hex;
      e.code = args[3];
      e.description = o.count("--description") ? o.at("--description") : "scheduled " + e.code;
      e.state = "active";
      e.not_before =
          now + std::chrono::seconds(o.count("--in") ? seconds(o.at("--in"), "--in") : 86400);
      e.not_after = e.not_before +
                    std::chrono::seconds(
                        o.count("--duration") ? seconds(o.at("--duration"), "--duration") : 3600);
      st.scheduled.push_back(e);
      reply += "scheduled " + e.id;
    } else if (what == "complete" || what == "cancel") {
      if (args.size() != 4) usage("event " + what + " takes an EVENT-ID");
      auto it = st.scheduled.begin();
      while (it != st.scheduled.end() && it->id != args[3]) ++it;
      if (it == st.scheduled.end())
        throw Error(ErrorCode::NotFound, "no scheduled event " + args[3] + " on " + id);
      it->state = what == "complete" ? "completed" : "canceled";
      reply += args[3] + " " + it->state;
      st.history.push_back(*it);
      st.scheduled.erase(it);
    } else {
      usage("event takes maintenance, complete or cancel");
    }
  } else if (args[0] == "rebalance") {
    if (what == "clear") {
      st.rebalance_time.clear();
      reply += "rebalance recommendation cleared";
    } else {
      if (args.size() != 2) usage("rebalance takes a VM and optionally 'clear'");
      st.rebalance_time = record::iso8601_utc(now);
      reply += "rebalance recommendation at " + st.rebalance_time;
    }
  } else {  // lifecycle
    if (args.size() != 3 || (what != "clear" && !kLifecycleStates.count(what)))
      usage("lifecycle takes a state (InService, Terminated, Warmed:Stopped, ...) or clear");
    st.lifecycle = what == "clear" ? std::string() : what;
    reply += what == "clear" ? "target lifecycle state cleared" : "target lifecycle state " + what;
  }
  publish_locked(id);
  if (save_) {
    try {
      save_(to_json_locked());
    } catch (const Error& e) {
      throw Error(ErrorCode::Io, reply + " (in memory only: " + e.what() + ")");
    }
  }
  return reply + "\n";
}

std::shared_ptr<const Notices> NoticeBoard::notices(const std::string& instance_id) const {
  const std::lock_guard lock(mutex_);
  const auto it = notices_.find(instance_id);
  return it == notices_.end() ? nullptr : it->second;
}

std::shared_ptr<const ServedInstance> NoticeStore::find(std::string_view listener,
                                                        std::string_view address) {
  auto base = inner_.find(listener, address);
  if (!base || board_.empty()) return base;
  const auto& id = base->instance.instance_id;
  const auto version = board_.version();
  const std::lock_guard lock(mutex_);
  auto& c = cache_[id];
  if (c.base == base && c.version == version) return c.derived ? c.derived : base;
  const auto notices = board_.notices(id);
  c.base = base;
  c.version = version;
  c.derived = notices ? make_served(base->instance, host_, base->name, *notices) : nullptr;
  return c.derived ? c.derived : base;
}

}  // namespace cloudtwin::metadata
