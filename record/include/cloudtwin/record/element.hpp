#pragma once
// Where the instance record lives in libvirt: one element in each domain's <metadata>,
// under the cloudtwin namespace, holding the record's JSON as text. Written by the host
// CLI, read by cloudtwin-metadata's libvirt source. Pure (Poco::XML).

#include <string>
#include <string_view>

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::record {

inline constexpr const char* kRecordNamespace = "https://cloudtwin.example.invalid/instance/1";
inline constexpr const char* kRecordPrefix = "cloudtwin";
inline constexpr const char* kRecordElement = "instance";

// <cloudtwin:instance xmlns:cloudtwin="...">{escaped json}</cloudtwin:instance>
std::string record_element(std::string_view json);
// The JSON text inside such an element, as virDomainGetMetadata returns it (libvirt may
// re-serialise it). Throws Error(InvalidArgument) when it is not XML.
std::string record_json_from_element(std::string_view xml);

// The record as such an element, and back (`source` names the domain in messages).
std::string instance_element(const Instance& instance);
Instance instance_from_element(std::string_view xml, const std::string& source,
                               const MetadataOptions& defaults = {});

}  // namespace cloudtwin::record
