#include "cloudtwin/aws/ec2_client.hpp"

#include <algorithm>
#include <cmath>

#include "cloudtwin/aws/ec2_xml.hpp"
#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::aws {

namespace {

constexpr std::string_view kFormType = "application/x-www-form-urlencoded; charset=utf-8";
constexpr int kMaxPages = 10000;

void add_list(Params& out, const std::string& prefix, const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.emplace_back(prefix + "." + std::to_string(i + 1), values[i]);
  }
}

void add_if(Params& out, const char* name, const std::string& value) {
  if (!value.empty()) out.emplace_back(name, value);
}

ErrorCode error_code_for(std::string_view aws_code) {
  if (aws_code.ends_with(".NotFound")) return ErrorCode::NotFound;
  if (aws_code.ends_with(".Malformed") || aws_code.starts_with("InvalidParameter") ||
      aws_code == "MissingParameter") {
    return ErrorCode::InvalidArgument;
  }
  return ErrorCode::System;
}

// An answer body in a message: printable, bounded (it may be an HTML error page).
std::string excerpt(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, 160)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  if (body.size() > 160) out += "...";
  return out;
}

}  // namespace

Url default_ec2_endpoint(std::string_view region) {
  return parse_url("https://ec2." + std::string(region) + ".amazonaws.com/");
}

bool is_retryable(int http_status, std::string_view aws_code) noexcept {
  static constexpr std::string_view kThrottling[] = {
      "RequestLimitExceeded",   "Throttling",
      "ThrottlingException",    "RequestThrottled",
      "InternalError",          "InternalFailure",
      "ServiceUnavailable",     "Unavailable",
      "RequestTimeout",         "RequestTimeoutException",
      "PriorRequestNotComplete"};
  if (http_status >= 500) return true;
  return std::find(std::begin(kThrottling), std::end(kThrottling), aws_code) !=
         std::end(kThrottling);
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit) {
  const double cap = static_cast<double>(policy.max_delay.count());
  const double grown =
      static_cast<double>(policy.base_delay.count()) * std::ldexp(1.0, std::min(attempt - 1, 30));
  const double bound = std::min(cap, grown);
  return std::chrono::milliseconds(static_cast<long long>(bound * std::clamp(unit, 0.0, 1.0)));
}

Params run_instances_params(const RunInstancesRequest& r) {
  Params out;
  out.emplace_back("ImageId", r.image_id);
  add_if(out, "InstanceType", r.instance_type);
  out.emplace_back("MinCount", std::to_string(r.min_count));
  out.emplace_back("MaxCount", std::to_string(r.max_count));
  add_if(out, "KeyName", r.key_name);
  add_if(out, "SubnetId", r.subnet_id);
  add_list(out, "SecurityGroupId", r.security_group_ids);
  if (!r.user_data.empty()) out.emplace_back("UserData", core::base64_encode(r.user_data));
  add_if(out, "ClientToken", r.client_token);
  if (!r.tags.empty()) {
    out.emplace_back("TagSpecification.1.ResourceType", "instance");
    for (std::size_t i = 0; i < r.tags.size(); ++i) {
      const std::string prefix = "TagSpecification.1.Tag." + std::to_string(i + 1);
      out.emplace_back(prefix + ".Key", r.tags[i].key);
      out.emplace_back(prefix + ".Value", r.tags[i].value);
    }
  }
  add_if(out, "MetadataOptions.HttpTokens", r.metadata_options.http_tokens);
  add_if(out, "MetadataOptions.HttpEndpoint", r.metadata_options.http_endpoint);
  if (r.metadata_options.http_put_response_hop_limit > 0) {
    out.emplace_back("MetadataOptions.HttpPutResponseHopLimit",
                     std::to_string(r.metadata_options.http_put_response_hop_limit));
  }
  return out;
}

Params describe_instances_params(const DescribeInstancesRequest& r, std::string_view next_token) {
  Params out;
  add_list(out, "InstanceId", r.instance_ids);
  std::size_t n = 0;
  for (const auto& [name, values] : r.filters) {
    const std::string prefix = "Filter." + std::to_string(++n);
    out.emplace_back(prefix + ".Name", name);
    add_list(out, prefix + ".Value", values);
  }
  if (r.max_results > 0) out.emplace_back("MaxResults", std::to_string(r.max_results));
  if (!next_token.empty()) out.emplace_back("NextToken", std::string(next_token));
  return out;
}

Params ingress_params(std::string_view group_id, const std::vector<IpPermission>& permissions) {
  Params out{{"GroupId", std::string(group_id)}};
  for (std::size_t i = 0; i < permissions.size(); ++i) {
    const std::string prefix = "IpPermissions." + std::to_string(i + 1);
    out.emplace_back(prefix + ".IpProtocol", permissions[i].protocol);
    out.emplace_back(prefix + ".FromPort", std::to_string(permissions[i].from_port));
    out.emplace_back(prefix + ".ToPort", std::to_string(permissions[i].to_port));
    out.emplace_back(prefix + ".IpRanges.1.CidrIp", permissions[i].cidr);
  }
  return out;
}

Ec2Client::Ec2Client(HttpClient& http, const Crypto& crypto, Ec2Timing& timing,
                     Credentials credentials, Ec2ClientOptions options)
    : http_(http),
      crypto_(crypto),
      timing_(timing),
      credentials_(std::move(credentials)),
      options_(std::move(options)) {
  if (options_.region.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "no AWS region: pass --region, set AWS_REGION, or put region = ... in the "
                "profile");
  }
  if (options_.endpoint.host.empty()) options_.endpoint = default_ec2_endpoint(options_.region);
  if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
}

HttpRequest Ec2Client::build(std::string_view action, const Params& params) {
  Params all{{"Action", std::string(action)}, {"Version", std::string(kEc2ApiVersion)}};
  all.insert(all.end(), params.begin(), params.end());
  HttpRequest request;
  request.method = "POST";
  request.target = options_.endpoint.path;
  request.body = form_encode(all);
  request.headers.emplace_back("content-type", std::string(kFormType));
  SignableRequest signable;
  signable.method = "POST";
  signable.host = options_.endpoint.host_header();
  signable.path = options_.endpoint.path;
  signable.headers = request.headers;
  signable.body = request.body;
  const auto signed_request = SigV4Signer(crypto_).sign(
      signable, credentials_, SigV4Scope{options_.region, "ec2"}, timing_.amz_date());
  request.headers.insert(request.headers.end(), signed_request.headers.begin(),
                         signed_request.headers.end());
  return request;
}

std::string Ec2Client::call(std::string_view action, const Params& params) {
  const std::string where = "EC2 " + std::string(action) + " (" + options_.region + ", " +
                            options_.endpoint.to_string() + ")";
  const int max = options_.retry.max_attempts;
  for (int attempt = 1;; ++attempt) {
    last_attempts_ = attempt;
    const std::string tries =
        attempt > 1 ? ", after " + std::to_string(attempt) + " attempts" : std::string();
    HttpResponse response;
    try {
      response = http_.send(options_.endpoint, build(action, params));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Io || attempt >= max) {
        throw Error(e.code(), where + ": " + e.what() + tries);
      }
      timing_.sleep(backoff_delay(options_.retry, attempt, timing_.random_unit()));
      continue;
    }
    if (response.status >= 200 && response.status < 300) return std::move(response.body);
    auto info = parse_ec2_error(response.body);
    if (!info) {
      info = Ec2ErrorInfo{"HTTP " + std::to_string(response.status), excerpt(response.body), ""};
    }
    if (is_retryable(response.status, info->code) && attempt < max) {
      timing_.sleep(backoff_delay(options_.retry, attempt, timing_.random_unit()));
      continue;
    }
    std::string message = where + ": " + info->code;
    if (!info->message.empty()) message += ": " + info->message;
    if (!info->request_id.empty()) message += " (request id " + info->request_id + ")";
    message += tries;
    const auto code = error_code_for(info->code);
    throw Ec2Error(code, message, std::move(*info), response.status);
  }
}

void Ec2Client::expect_true(std::string_view action, const Params& params) {
  if (!parse_return(call(action, params), action)) {
    throw Error(ErrorCode::System,
                "EC2 " + std::string(action) + " (" + options_.region + ") answered false");
  }
}

Reservation Ec2Client::run_instances(const RunInstancesRequest& request) {
  return parse_run_instances(call("RunInstances", run_instances_params(request)));
}

std::vector<Instance> Ec2Client::describe_instances(const DescribeInstancesRequest& request) {
  std::vector<Instance> out;
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    auto answer = parse_describe_instances(
        call("DescribeInstances", describe_instances_params(request, token)));
    for (auto& reservation : answer.reservations) {
      for (auto& instance : reservation.instances) out.push_back(std::move(instance));
    }
    if (answer.next_token.empty()) return out;
    if (answer.next_token == token) {
      throw Error(ErrorCode::System, "EC2 DescribeInstances (" + options_.region +
                                         ") returned the same nextToken twice");
    }
    token = std::move(answer.next_token);
  }
  throw Error(ErrorCode::System, "EC2 DescribeInstances (" + options_.region + "): more than " +
                                     std::to_string(kMaxPages) + " pages");
}

std::vector<InstanceStateChange> Ec2Client::start_instances(const std::vector<std::string>& ids) {
  Params params;
  add_list(params, "InstanceId", ids);
  return parse_instance_state_changes(call("StartInstances", params), "StartInstances");
}

std::vector<InstanceStateChange> Ec2Client::stop_instances(const std::vector<std::string>& ids,
                                                           bool force) {
  Params params;
  add_list(params, "InstanceId", ids);
  if (force) params.emplace_back("Force", "true");
  return parse_instance_state_changes(call("StopInstances", params), "StopInstances");
}

std::vector<InstanceStateChange> Ec2Client::terminate_instances(
    const std::vector<std::string>& ids) {
  Params params;
  add_list(params, "InstanceId", ids);
  return parse_instance_state_changes(call("TerminateInstances", params), "TerminateInstances");
}

void Ec2Client::reboot_instances(const std::vector<std::string>& ids) {
  Params params;
  add_list(params, "InstanceId", ids);
  expect_true("RebootInstances", params);
}

Address Ec2Client::allocate_address() {
  return parse_allocate_address(call("AllocateAddress", {{"Domain", "vpc"}}));
}

std::string Ec2Client::associate_address(std::string_view allocation_id,
                                         std::string_view instance_id) {
  return parse_associate_address(call(
      "AssociateAddress",
      {{"AllocationId", std::string(allocation_id)}, {"InstanceId", std::string(instance_id)}}));
}

void Ec2Client::disassociate_address(std::string_view association_id) {
  expect_true("DisassociateAddress", {{"AssociationId", std::string(association_id)}});
}

void Ec2Client::release_address(std::string_view allocation_id) {
  expect_true("ReleaseAddress", {{"AllocationId", std::string(allocation_id)}});
}

std::vector<Address> Ec2Client::describe_addresses(const std::vector<std::string>& public_ips) {
  Params params;
  add_list(params, "PublicIp", public_ips);
  return parse_describe_addresses(call("DescribeAddresses", params));
}

std::string Ec2Client::create_security_group(std::string_view name, std::string_view description,
                                             std::string_view vpc_id) {
  Params params{{"GroupName", std::string(name)}, {"GroupDescription", std::string(description)}};
  if (!vpc_id.empty()) params.emplace_back("VpcId", std::string(vpc_id));
  return parse_create_security_group(call("CreateSecurityGroup", params));
}

void Ec2Client::authorize_security_group_ingress(std::string_view group_id,
                                                 const std::vector<IpPermission>& permissions) {
  expect_true("AuthorizeSecurityGroupIngress", ingress_params(group_id, permissions));
}

void Ec2Client::delete_security_group(std::string_view group_id) {
  expect_true("DeleteSecurityGroup", {{"GroupId", std::string(group_id)}});
}

KeyPairInfo Ec2Client::import_key_pair(std::string_view name, std::string_view public_key) {
  return parse_import_key_pair(call(
      "ImportKeyPair",
      {{"KeyName", std::string(name)}, {"PublicKeyMaterial", core::base64_encode(public_key)}}));
}

std::vector<KeyPairInfo> Ec2Client::describe_key_pairs(const std::vector<std::string>& names) {
  Params params;
  add_list(params, "KeyName", names);
  return parse_describe_key_pairs(call("DescribeKeyPairs", params));
}

std::string Ec2Client::register_image(const RegisterImageRequest& r) {
  Params params{{"Name", r.name}};
  add_if(params, "Description", r.description);
  add_if(params, "ImageLocation", r.image_location);
  add_if(params, "Architecture", r.architecture);
  add_if(params, "RootDeviceName", r.root_device_name);
  add_if(params, "VirtualizationType", r.virtualization_type);
  return parse_register_image(call("RegisterImage", params));
}

}  // namespace cloudtwin::aws
