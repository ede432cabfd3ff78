#include "cloudtwin/host/instance_record.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstdio>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {
std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

namespace {

std::string field(const char* key, std::string_view value) {
  return json_quote(key) + ":" + json_quote(value);
}

std::string string_list(const std::vector<std::string>& items) {
  std::string j;
  for (const auto& s : items) j += (j.empty() ? "" : ",") + json_quote(s);
  return "[" + j + "]";
}

std::string host_json(const HostRecord& h) {
  std::string j = "{" + field("name", h.name) + ",\"nics\":[";
  for (std::size_t i = 0; i < h.nics.size(); ++i) {
    const auto& n = h.nics[i];
    j += std::string(i ? "," : "") + "{" + field("mac", n.mac.to_string()) + "," +
         field("network", n.network) + "," + field("gateway", n.gateway.to_string()) + "}";
  }
  j += "]," + field("context_iso", h.context_iso) + ",\"overlays\":" + string_list(h.overlays) +
       ",\"images\":" + string_list(h.images);
  if (!h.cidata_iso.empty()) j += "," + field("cidata_iso", h.cidata_iso);
  if (!h.console_log.empty()) {
    j += "," + field("console_log", h.console_log) +
         ",\"console_log_owned\":" + (h.console_log_owned ? "true" : "false");
  }
  if (h.vpn) j += ",\"vpn\":true";
  return j + "}";
}

std::string get(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o->has(key) ? o->getValue<std::string>(key) : std::string();
}

std::vector<std::string> strings(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  std::vector<std::string> out;
  if (const auto a = o->getArray(key)) {
    for (std::size_t i = 0; i < a->size(); ++i)
      out.push_back(a->getElement<std::string>(static_cast<unsigned>(i)));
  }
  return out;
}

HostRecord host_from_json(const std::string& json) {
  Poco::JSON::Parser parser;
  const auto o = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  HostRecord h;
  h.name = get(o, "name");
  if (const auto nics = o->getArray("nics")) {
    for (std::size_t i = 0; i < nics->size(); ++i) {
      const auto n = nics->getObject(static_cast<unsigned>(i));
      if (!n) throw Error(ErrorCode::InvalidArgument, "x-cloudtwin-host.nics holds a non-object");
      h.nics.push_back({core::Mac::parse(get(n, "mac")), get(n, "network"),
                        core::Ipv4::parse(get(n, "gateway"))});
    }
  }
  h.context_iso = get(o, "context_iso");
  h.overlays = strings(o, "overlays");
  h.images = strings(o, "images");
  h.cidata_iso = get(o, "cidata_iso");
  h.console_log = get(o, "console_log");
  h.console_log_owned = o->has("console_log_owned") && o->getValue<bool>("console_log_owned");
  h.vpn = o->has("vpn") && o->getValue<bool>("vpn");
  return h;
}

}  // namespace

std::vector<NicRecord> InstanceRecord::nics() const {
  std::vector<NicRecord> out;
  for (const auto& n : ec2.interfaces) {
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

std::string record_to_json(const InstanceRecord& r) {
  auto instance = r.ec2;
  instance.extensions[kHostExtension] = host_json(r.host);
  return metadata::instance_to_json(instance);
}

InstanceRecord record_from_json(std::string_view json) {
  InstanceRecord r;
  r.ec2 = metadata::parse_instance_json(json, "instance record");
  const auto host = r.ec2.extensions.find(kHostExtension);
  try {
    if (host != r.ec2.extensions.end()) r.host = host_from_json(host->second);
    (void)r.nics();  // a subnet block that is no CIDR fails here, not in a caller
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("instance record: key '") + kHostExtension + "': " + e.displayText());
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("instance record: key '") + kHostExtension + "': " + e.what());
  }
  if (host != r.ec2.extensions.end()) r.ec2.extensions.erase(host);
  return r;
}

std::string record_metadata_element(const InstanceRecord& record) {
  return metadata::record_element(record_to_json(record));
}

InstanceRecord record_from_metadata_element(std::string_view xml) {
  return record_from_json(metadata::record_json_from_element(xml));
}

}  // namespace cloudtwin::host
