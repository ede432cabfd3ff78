#include "cloudtwin/record/instance.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "cloudtwin/record/json.hpp"
#include "fields.hpp"

namespace cloudtwin::record {

namespace {

using table::Json;
using table::Value;

constexpr int kMaxDepth = 64;  // records are flat; deeper nesting is an attack or a mistake

Json parse_text(std::string_view text, const std::string& source) {
  const Json::parser_callback_t depth_limit = [&source](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxDepth) {
      throw Error(ErrorCode::InvalidArgument,
                  source + ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), depth_limit);
  } catch (const Json::parse_error& e) {
    // Only the position: nlohmann's message quotes the bytes it read ("last read: '...'"),
    // and a record may be a file someone pointed at a secret.
    throw Error(ErrorCode::InvalidArgument,
                source + ": not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::InvalidArgument, source + ": not valid JSON: " + e.what());
  }
}

// A record of the release before (no "record-version"): the host's bookkeeping was an
// extension, "x-cloudtwin-host", with snake_case keys. Rewritten into this release's form.
void migrate_v1(Json& root, const std::string& source) {
  const auto old = root.find("x-cloudtwin-host");
  if (old == root.end()) return;
  if (root.contains("host")) {
    Value(root, source, "x-cloudtwin-host").fail("give either host or x-cloudtwin-host, not both");
  }
  Json host = Json::object();
  if (old->is_object()) {
    for (const auto& [key, value] : old->items()) {
      auto kebab = key;
      std::replace(kebab.begin(), kebab.end(), '_', '-');
      host[kebab] = value;
    }
  } else {
    host = *old;  // refused as "expected an object" under its new name
  }
  root.erase(old);
  root["host"] = std::move(host);
}

// Rules across keys: defaults taken from other keys, NIC order and uniqueness.
void finish(Instance& i, const Value& root, const MetadataOptions& defaults) {
  if (i.local_hostname.empty()) i.local_hostname = i.hostname;
  if (i.hostname.empty()) i.hostname = i.local_hostname;
  if (i.region.empty() && i.availability_zone.size() > 1) {
    i.region = i.availability_zone.substr(0, i.availability_zone.size() - 1);
  }
  std::set<std::string> macs;
  for (const auto& n : i.interfaces) {
    if (!macs.insert(n.mac).second) {
      Value(root.json(), root.source(), "network-interfaces")
          .fail("MAC " + n.mac + " appears twice");
    }
  }
  std::stable_sort(i.interfaces.begin(), i.interfaces.end(),
                   [](const auto& a, const auto& b) { return a.device_number < b.device_number; });
  if (i.local_ipv4.empty()) {
    const auto* p = i.primary_interface();
    if (p && !p->local_ipv4s.empty()) i.local_ipv4 = p->local_ipv4s.front();
  }
  if (i.iam && i.iam->credentials && i.iam->credentials->last_updated.empty()) {
    i.iam->credentials->last_updated = i.iam->last_updated;
  }
  i.options = i.options_record.resolve(defaults);
}

}  // namespace

MetadataOptions MetadataOptionsRecord::resolve(const MetadataOptions& defaults) const {
  MetadataOptions o = defaults;
  o.http_tokens = http_tokens.value_or(defaults.http_tokens);
  o.http_endpoint = http_endpoint.value_or(defaults.http_endpoint);
  o.hop_limit = hop_limit.value_or(defaults.hop_limit);
  o.instance_metadata_tags = instance_metadata_tags.value_or(defaults.instance_metadata_tags);
  return o;
}

const NetworkInterface* Instance::primary_interface() const noexcept {
  if (interfaces.empty()) return nullptr;
  for (const auto& n : interfaces) {
    if (n.device_number == 0) return &n;
  }
  return &interfaces.front();
}

std::vector<std::string> Instance::caller_addresses() const {
  if (!serve_to.empty()) return serve_to;
  std::vector<std::string> out;
  for (const auto& n : interfaces) {
    out.insert(out.end(), n.local_ipv4s.begin(), n.local_ipv4s.end());
    out.insert(out.end(), n.ipv6s.begin(), n.ipv6s.end());
  }
  if (out.empty() && !local_ipv4.empty()) out.push_back(local_ipv4);
  return out;
}

std::vector<NicRecord> Instance::nics() const {
  std::vector<NicRecord> out;
  for (const auto& n : interfaces) {
    if (n.local_ipv4s.empty() || n.subnet_ipv4_cidr_block.empty()) continue;
    NicRecord r{core::Mac::parse(n.mac),
                core::Ipv4::parse(n.local_ipv4s.front()),
                n.device_number,
                "",
                core::Ipv4Cidr::parse(n.subnet_ipv4_cidr_block),
                {}};
    for (const auto& h : host.nics) {
      if (h.mac == r.mac) {
        r.network = h.network;
        r.gateway = h.gateway;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

Instance parse_instance_json(std::string_view json, const std::string& source,
                             const MetadataOptions& defaults) {
  auto root = parse_text(json, source);
  if (!root.is_object()) {
    throw Error(ErrorCode::InvalidArgument, source + ": the top level must be a JSON object");
  }
  const Value top(root, source, "");
  if (root.contains("user-data") && root.contains("user-data-base64")) {
    Value(root, source, "user-data").fail("give either user-data or user-data-base64, not both");
  }
  if (!root.contains("record-version")) migrate_v1(root, source);
  Instance i;
  table::read_object(top, instance_fields(), i);
  for (const auto& [key, value] : root.items()) {
    if (key.rfind("x-", 0) == 0) i.extensions[key] = dump(value);
  }
  finish(i, top, defaults);
  return i;
}

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json instance_to_value(const Instance& instance) {
  auto out = table::write_object(instance_fields(), instance);
  for (const auto& [key, text] : instance.extensions) {
    out[key] = Json::parse(text, nullptr, false);  // kept as read; invalid text -> discarded
    if (out[key].is_discarded()) out.erase(key);
  }
  return out;
}

std::string instance_to_json(const Instance& instance) { return dump(instance_to_value(instance)); }

std::string field_table_markdown() {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& row : table::docs_of(instance_fields(), "")) {
    out += "| `" + row[0] + "` | " + row[1] + " | " + row[2] + " | " + row[3] + " |\n";
  }
  return out;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(floor<seconds>(t - day));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string json_quote(std::string_view text) { return dump(Json(std::string(text))); }

}  // namespace cloudtwin::record
