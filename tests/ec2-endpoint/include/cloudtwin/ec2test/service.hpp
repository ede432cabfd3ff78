#pragma once
// An EC2 API test endpoint: the Query API in (form POST or GET, SigV4-signed), EC2's XML
// out (2016-11-15 namespace, <Response><Errors> error answers), for the calls cloudtwin
// makes. Every request's signature is checked and a bad one refused, as EC2 does. State
// lives in memory; instances move pending -> running after a number of describes.
// Socket-free: server.hpp puts it on a Beast listener, tests may call handle() directly.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cloudtwin/aws/crypto.hpp"
#include "cloudtwin/aws/ec2_types.hpp"
#include "cloudtwin/aws/http_client.hpp"

namespace cloudtwin::ec2test {

struct ServiceOptions {
  std::string access_key_id = "AKIDCLOUDTWINTEST";
  std::string secret_access_key = "cloudtwin/test+secret";
  std::string region = "us-east-1";
  std::string owner_id = "123456789012";
  std::set<std::string> images = {"ami-0cloudtwin0test0"};
  int instance_limit = 20;    // running + pending instances; more is InstanceLimitExceeded
  int pending_describes = 1;  // describes that still show a new instance as pending
};

// What RunInstances received, kept per instance (the future IMDS of the test "cloud").
struct LaunchedInstance {
  aws::Instance instance;
  std::string reservation_id;
  std::string user_data;                  // decoded
  aws::MetadataOptions metadata_options;  // as RunInstances gave them
  int describes = 0;                      // describes seen in the current transitional state
};

struct ElasticAddress {
  aws::Address address;
};

struct SecurityGroup {
  std::string group_id;
  std::string name;
  std::string description;
  std::string vpc_id;
  std::vector<aws::IpPermission> ingress;
};

class Ec2Service {
 public:
  Ec2Service(const aws::Crypto& crypto, ServiceOptions options);
  ~Ec2Service();
  Ec2Service(const Ec2Service&) = delete;
  Ec2Service& operator=(const Ec2Service&) = delete;

  // Thread-safe. Any request gets an answer (errors as EC2's XML).
  aws::HttpResponse handle(const aws::HttpRequest& request);

  // Fault injection: the next `count` signed requests are answered `status` with this
  // EC2 error code (503 + RequestLimitExceeded by default), without acting.
  void fail_next(int count, int status = 503, std::string code = "RequestLimitExceeded");

  // Inspection for tests.
  std::vector<LaunchedInstance> instances() const;
  std::vector<ElasticAddress> addresses() const;
  std::vector<SecurityGroup> security_groups() const;
  std::vector<aws::KeyPairInfo> key_pairs() const;
  // Requests answered so far, by action ("RunInstances" -> 3), refused ones under "".
  std::map<std::string, int> calls() const;

  const ServiceOptions& options() const noexcept { return options_; }

  struct State;  // the accounts' objects (internal)

 private:
  aws::HttpResponse dispatch(const std::string& action, const aws::Params& params,
                             const std::string& request_id);

  const aws::Crypto& crypto_;
  ServiceOptions options_;
  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace cloudtwin::ec2test
