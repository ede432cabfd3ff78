#pragma once
// Internal to the test endpoint: the account's objects and the error an action throws.

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cloudtwin/ec2test/service.hpp"

namespace cloudtwin::ec2test {

// An EC2 error answer from inside an action.
struct ApiError : std::runtime_error {
  ApiError(int s, std::string c, const std::string& message)
      : std::runtime_error(message), status(s), code(std::move(c)) {}
  int status;
  std::string code;
};

struct Faults {
  int count = 0;
  int status = 503;
  std::string code = "RequestLimitExceeded";
};

struct Ec2Service::State {
  std::set<std::string> images;
  std::map<std::string, LaunchedInstance> instances;
  std::vector<std::string> instance_order;  // launch order, as DescribeInstances lists them
  std::map<std::string, std::string> client_tokens;   // token -> reservation id
  std::map<std::string, ElasticAddress> addresses;    // by allocation id
  std::map<std::string, SecurityGroup> groups;        // by group id
  std::map<std::string, aws::KeyPairInfo> key_pairs;  // by name
  std::map<std::string, int> calls;
  Faults faults;
  unsigned long long request_counter = 0;
  unsigned long long id_counter = 0;
  unsigned next_address = 10;
  unsigned next_private = 10;

  // "prefix-" + 17 hex digits, as EC2's long ids.
  std::string new_id(const std::string& prefix);
};

// The parameters of a request by name, and EC2's list parameters (Name.1, Name.2, ...).
class Query {
 public:
  explicit Query(const aws::Params& params);
  std::string get(const std::string& name) const;                  // "" when absent
  std::string required(const std::string& name) const;             // MissingParameter when absent
  std::vector<std::string> list(const std::string& prefix) const;  // prefix.1, prefix.2 ...
  bool has(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
};

// Addresses, security groups, key pairs and images (service_network.cpp); InvalidAction
// for anything else.
aws::HttpResponse network_action(Ec2Service::State& state, const ServiceOptions& options,
                                 const std::string& action, const Query& query,
                                 const std::string& request_id);

}  // namespace cloudtwin::ec2test
