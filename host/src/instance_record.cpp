#include "cloudtwin/host/instance_record.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstdio>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/network_xml.hpp"

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

std::string json_string(std::string_view s) { return json_quote(s); }

std::string field(const char* key, std::string_view value) {
  return json_string(key) + ":" + json_string(value);
}

std::string get(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o->has(key) ? o->getValue<std::string>(key) : std::string();
}

}  // namespace

std::string record_to_json(const InstanceRecord& r) {
  std::string j = "{" + field("instance_id", r.instance_id) + "," + field("name", r.name) + "," +
                  field("ami_id", r.ami_id) + "," + field("instance_type", r.instance_type) + "," +
                  field("hostname", r.hostname) + ",\"nics\":[";
  for (std::size_t i = 0; i < r.nics.size(); ++i) {
    const auto& n = r.nics[i];
    j += std::string(i ? "," : "") + "{" + field("mac", n.mac.to_string()) + "," +
         field("ip", n.ip.to_string()) + ",\"device_number\":" + std::to_string(n.device_number) +
         "," + field("network", n.network) + "," + field("subnet_cidr", n.subnet.to_string()) +
         "," + field("gateway", n.gateway.to_string()) + "}";
  }
  j += "],\"public_keys\":[";
  for (std::size_t i = 0; i < r.public_keys.size(); ++i) {
    j += std::string(i ? "," : "") + "{" + field("name", r.public_keys[i].name) + "," +
         field("key", r.public_keys[i].key) + "}";
  }
  j += "]," + field("user_data", r.user_data) + ",\"host\":{" +
       field("context_iso", r.context_iso) + ",\"overlays\":[";
  for (std::size_t i = 0; i < r.overlays.size(); ++i)
    j += (i ? "," : "") + json_string(r.overlays[i]);
  j += "],\"images\":[";
  for (std::size_t i = 0; i < r.images.size(); ++i) j += (i ? "," : "") + json_string(r.images[i]);
  j += "]";
  if (!r.cidata_iso.empty()) j += "," + field("cidata_iso", r.cidata_iso);
  if (!r.console_log.empty()) {
    j += "," + field("console_log", r.console_log) +
         ",\"console_log_owned\":" + (r.console_log_owned ? "true" : "false");
  }
  if (r.vpn) j += ",\"vpn\":true";
  return j + "}}";
}

InstanceRecord record_from_json(std::string_view json) {
  try {
    Poco::JSON::Parser parser;
    const auto o = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
    InstanceRecord r;
    r.instance_id = get(o, "instance_id");
    r.name = get(o, "name");
    r.ami_id = get(o, "ami_id");
    r.instance_type = get(o, "instance_type");
    r.hostname = get(o, "hostname");
    r.user_data = get(o, "user_data");
    if (auto nics = o->getArray("nics")) {
      for (std::size_t i = 0; i < nics->size(); ++i) {
        const auto n = nics->getObject(static_cast<unsigned>(i));
        r.nics.push_back({core::Mac::parse(get(n, "mac")), core::Ipv4::parse(get(n, "ip")),
                          n->getValue<int>("device_number"), get(n, "network"),
                          core::Ipv4Cidr::parse(get(n, "subnet_cidr")),
                          core::Ipv4::parse(get(n, "gateway"))});
      }
    }
    if (auto keys = o->getArray("public_keys")) {
      for (std::size_t i = 0; i < keys->size(); ++i) {
        const auto k = keys->getObject(static_cast<unsigned>(i));
        r.public_keys.push_back({get(k, "name"), get(k, "key")});
      }
    }
    if (auto host = o->getObject("host")) {
      r.context_iso = get(host, "context_iso");
      if (auto ov = host->getArray("overlays")) {
        for (std::size_t i = 0; i < ov->size(); ++i)
          r.overlays.push_back(ov->getElement<std::string>(static_cast<unsigned>(i)));
      }
      if (auto im = host->getArray("images")) {
        for (std::size_t i = 0; i < im->size(); ++i)
          r.images.push_back(im->getElement<std::string>(static_cast<unsigned>(i)));
      }
      r.cidata_iso = get(host, "cidata_iso");
      r.console_log = get(host, "console_log");
      r.console_log_owned =
          host->has("console_log_owned") && host->getValue<bool>("console_log_owned");
      r.vpn = host->has("vpn") && host->getValue<bool>("vpn");
    }
    if (r.instance_id.empty())
      throw Error(ErrorCode::InvalidArgument, "instance record has no instance_id");
    return r;
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                "instance record is not valid JSON: " + e.displayText());
  }
}

std::string record_metadata_element(const InstanceRecord& record) {
  return std::string("<") + kRecordPrefix + ":" + kRecordElement + " xmlns:" + kRecordPrefix +
         "=\"" + kRecordNamespace + "\">" + xml_escape(record_to_json(record)) + "</" +
         kRecordPrefix + ":" + kRecordElement + ">";
}

InstanceRecord record_from_metadata_element(std::string_view xml) {
  std::string text;
  try {
    Poco::XML::DOMParser parser;
    Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(std::string(xml));
    text = doc->documentElement()->innerText();
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                "instance metadata element does not parse: " + e.displayText());
  }
  return record_from_json(text);
}

}  // namespace cloudtwin::host
