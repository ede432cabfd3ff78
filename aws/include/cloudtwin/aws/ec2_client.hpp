#pragma once
// EC2's Query API: form POSTs (Action=...&Version=2016-11-15) signed with SigV4, XML
// answers read into typed structs, EC2 error answers thrown as Ec2Error, retries with
// exponential backoff and full jitter on 5xx, throttling and broken connections.
// Pure: the network (HttpClient), the hashes (Crypto) and time (Ec2Timing) are seams.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/aws/crypto.hpp"
#include "cloudtwin/aws/ec2_types.hpp"
#include "cloudtwin/aws/http_client.hpp"
#include "cloudtwin/aws/uri.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {

inline constexpr std::string_view kEc2ApiVersion = "2016-11-15";

// An EC2 error answer. what(): "EC2 RunInstances (eu-west-1): InvalidAMIID.NotFound:
// <EC2's message> (request id ...)".
class Ec2Error : public Error {
 public:
  Ec2Error(ErrorCode code, const std::string& message, Ec2ErrorInfo info, int http_status)
      : Error(code, message), info_(std::move(info)), http_status_(http_status) {}
  const std::string& aws_code() const noexcept { return info_.code; }
  const std::string& request_id() const noexcept { return info_.request_id; }
  int http_status() const noexcept { return http_status_; }

 private:
  Ec2ErrorInfo info_;
  int http_status_;
};

// Time as the client sees it: the request date, the waits between attempts, and the
// jitter. adapters/system_timing.hpp has the real one.
class Ec2Timing {
 public:
  virtual ~Ec2Timing() = default;
  virtual std::string amz_date() = 0;  // now, "YYYYMMDDTHHMMSSZ"
  virtual void sleep(std::chrono::milliseconds duration) = 0;
  virtual double random_unit() = 0;  // uniform in [0, 1)
};

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{20000};
};

struct Ec2ClientOptions {
  std::string region;
  Url endpoint;  // default_ec2_endpoint(region) unless --endpoint
  RetryPolicy retry;
};

// https://ec2.REGION.amazonaws.com/
Url default_ec2_endpoint(std::string_view region);

// Whether an answer (HTTP status + EC2 error code, empty when none) is worth another try.
bool is_retryable(int http_status, std::string_view aws_code) noexcept;
// The wait before attempt `attempt` + 1 (attempt counts from 1): a uniform fraction
// `unit` of min(max_delay, base_delay * 2^(attempt-1)).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit);

// The Query API parameters of each call, without Action and Version.
Params run_instances_params(const RunInstancesRequest& request);
Params describe_instances_params(const DescribeInstancesRequest& request,
                                 std::string_view next_token);
Params ingress_params(std::string_view group_id, const std::vector<IpPermission>& permissions);

class Ec2Client {
 public:
  Ec2Client(HttpClient& http, const Crypto& crypto, Ec2Timing& timing, Credentials credentials,
            Ec2ClientOptions options);

  // One action with retries; the XML answer of the successful attempt.
  std::string call(std::string_view action, const Params& params);

  Reservation run_instances(const RunInstancesRequest& request);
  // Every page; instances of all reservations.
  std::vector<Instance> describe_instances(const DescribeInstancesRequest& request);
  std::vector<InstanceStateChange> start_instances(const std::vector<std::string>& ids);
  std::vector<InstanceStateChange> stop_instances(const std::vector<std::string>& ids,
                                                  bool force = false);
  std::vector<InstanceStateChange> terminate_instances(const std::vector<std::string>& ids);
  void reboot_instances(const std::vector<std::string>& ids);

  Address allocate_address();
  std::string associate_address(std::string_view allocation_id, std::string_view instance_id);
  void disassociate_address(std::string_view association_id);
  void release_address(std::string_view allocation_id);
  // The account's Elastic IPs with these public addresses (all when empty).
  std::vector<Address> describe_addresses(const std::vector<std::string>& public_ips);

  std::string create_security_group(std::string_view name, std::string_view description,
                                    std::string_view vpc_id = {});
  void authorize_security_group_ingress(std::string_view group_id,
                                        const std::vector<IpPermission>& permissions);
  void delete_security_group(std::string_view group_id);

  KeyPairInfo import_key_pair(std::string_view name, std::string_view public_key);
  std::vector<KeyPairInfo> describe_key_pairs(const std::vector<std::string>& names);

  std::string register_image(const RegisterImageRequest& request);

  const Ec2ClientOptions& options() const noexcept { return options_; }
  // Attempts made by the last call() (1 when the first succeeded).
  int last_attempts() const noexcept { return last_attempts_; }

 private:
  HttpRequest build(std::string_view action, const Params& params);
  void expect_true(std::string_view action, const Params& params);

  HttpClient& http_;
  const Crypto& crypto_;
  Ec2Timing& timing_;
  Credentials credentials_;
  Ec2ClientOptions options_;
  int last_attempts_ = 0;
};

}  // namespace cloudtwin::aws
