#include "cloudtwin/record/element.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/Exception.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::record {

std::string record_element(std::string_view json) {
  const std::string text = core::xml_escape(json);
  const std::string tag = std::string(kRecordPrefix) + ":" + kRecordElement;
  return "<" + tag + " xmlns:" + kRecordPrefix + "=\"" + kRecordNamespace + "\">" + text + "</" +
         tag + ">";
}

std::string record_json_from_element(std::string_view xml) {
  try {
    Poco::XML::DOMParser parser;
    Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(std::string(xml));
    return doc->documentElement()->innerText();
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                "instance metadata element does not parse: " + e.displayText());
  }
}

std::string instance_element(const Instance& instance) {
  return record_element(instance_to_json(instance));
}

Instance instance_from_element(std::string_view xml, const std::string& source,
                               const MetadataOptions& defaults) {
  return parse_instance_json(record_json_from_element(xml), source, defaults);
}

}  // namespace cloudtwin::record
