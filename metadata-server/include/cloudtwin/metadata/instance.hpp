#pragma once
// The metadata service serves the instance record of cloudtwin::record (record/, the one
// schema host and server share); these are the record's names as the service uses them.

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::metadata {

using record::HttpEndpoint;
using record::HttpTokens;
using record::Iam;
using record::IamCredentials;
using record::Instance;
using record::instance_to_json;
using record::MetadataOptions;
using record::MetadataOptionsRecord;
using record::NetworkInterface;
using record::parse_instance_json;
using record::PublicKey;

}  // namespace cloudtwin::metadata
