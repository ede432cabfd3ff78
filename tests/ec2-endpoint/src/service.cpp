#include "cloudtwin/ec2test/service.hpp"

#include <algorithm>
#include <cstdio>

#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "ec2_answer.hpp"
#include "service_state.hpp"

namespace cloudtwin::ec2test {

namespace {

std::string header_values(const aws::Params& headers, std::string_view name) {
  std::string out;
  bool any = false;
  for (const auto& [n, v] : headers) {
    if (!core::equals_icase(n, name)) continue;
    if (any) out += ',';
    out += v;
    any = true;
  }
  return out;
}

}  // namespace

Ec2Service::Ec2Service(const aws::Crypto& crypto, ServiceOptions options)
    : crypto_(crypto), options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->images = options_.images;
}

Ec2Service::~Ec2Service() = default;

void Ec2Service::fail_next(int count, int status, std::string code) {
  const std::lock_guard lock(mutex_);
  state_->faults = {count, status, std::move(code)};
}

aws::HttpResponse Ec2Service::handle(const aws::HttpRequest& request) {
  const std::lock_guard lock(mutex_);
  char id[40];
  std::snprintf(id, sizeof id, "c10d7a1e-0000-4000-8000-%012llu",
                static_cast<unsigned long long>(++state_->request_counter));
  const std::string request_id = id;

  // The parameters: the query string, then a form body.
  const auto q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  aws::Params query;
  aws::Params params;
  try {
    if (q != std::string::npos)
      query = aws::form_decode(std::string_view(request.target).substr(q + 1));
    params = query;
    if (core::starts_with_icase(header_values(request.headers, "content-type"),
                                "application/x-www-form-urlencoded")) {
      const auto form = aws::form_decode(request.body);
      params.insert(params.end(), form.begin(), form.end());
    }
  } catch (const Error& e) {
    ++state_->calls[""];
    return ec2_error(400, "MalformedQueryString", e.what(), request_id);
  }

  // The signature, as EC2 checks it.
  const auto refuse = [&](int status, const char* code, const std::string& message) {
    ++state_->calls[""];
    return ec2_error(status, code, message, request_id);
  };
  const std::string authorization = header_values(request.headers, "authorization");
  if (authorization.empty()) {
    return refuse(401, "MissingAuthenticationToken", "Request is missing Authentication Token");
  }
  aws::Authorization auth;
  try {
    auth = aws::parse_authorization(authorization);
  } catch (const Error& e) {
    return refuse(400, "IncompleteSignature", e.what());
  }
  if (auth.access_key_id != options_.access_key_id) {
    return refuse(401, "InvalidClientTokenId",
                  "The security token included in the request is invalid.");
  }
  const std::string amz_date = header_values(request.headers, "x-amz-date");
  if (amz_date.size() != 16 || amz_date.substr(0, 8) != auth.date) {
    return refuse(400, "IncompleteSignature", "x-amz-date is missing or not the credential's date");
  }
  if (auth.region != options_.region || auth.service != "ec2") {
    return refuse(401, "SignatureDoesNotMatch",
                  "Credential should be scoped to a valid region ('" + options_.region +
                      "') and service 'ec2', not '" + auth.region + "/" + auth.service + "'.");
  }
  if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") ==
      auth.signed_headers.end()) {
    return refuse(400, "IncompleteSignature", "The host header must be signed.");
  }
  aws::Params signed_headers;
  for (const auto& name : auth.signed_headers) {
    signed_headers.emplace_back(name, header_values(request.headers, name));
  }
  const aws::SigV4Scope scope{auth.region, auth.service};
  const aws::SigV4Signer signer(crypto_);
  const std::string payload = header_values(request.headers, "x-amz-content-sha256");
  const auto canonical_request = aws::canonical_request(
      request.method, path, query, aws::canonical_headers(signed_headers),
      payload.empty() ? signer.payload_hash(request.body, scope) : payload, false);
  const auto expected =
      signer.signature(options_.secret_access_key, amz_date, scope, canonical_request);
  if (expected != auth.signature) {
    return refuse(403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your AWS Secret Access Key and signing method.");
  }

  std::string action;
  for (const auto& [name, value] : params) {
    if (name == "Action") action = value;
  }
  if (state_->faults.count > 0) {
    --state_->faults.count;
    ++state_->calls[action];
    return ec2_error(state_->faults.status, state_->faults.code,
                     "Injected fault: " + state_->faults.code, request_id);
  }
  ++state_->calls[action];
  if (action.empty())
    return ec2_error(400, "MissingAction", "The request must contain the parameter Action",
                     request_id);
  try {
    return dispatch(action, params, request_id);
  } catch (const ApiError& e) {
    return ec2_error(e.status, e.code, e.what(), request_id);
  }
}

std::vector<LaunchedInstance> Ec2Service::instances() const {
  const std::lock_guard lock(mutex_);
  std::vector<LaunchedInstance> out;
  for (const auto& id : state_->instance_order) out.push_back(state_->instances.at(id));
  return out;
}

std::vector<ElasticAddress> Ec2Service::addresses() const {
  const std::lock_guard lock(mutex_);
  std::vector<ElasticAddress> out;
  for (const auto& [id, a] : state_->addresses) out.push_back(a);
  return out;
}

std::vector<SecurityGroup> Ec2Service::security_groups() const {
  const std::lock_guard lock(mutex_);
  std::vector<SecurityGroup> out;
  for (const auto& [id, g] : state_->groups) out.push_back(g);
  return out;
}

std::vector<aws::KeyPairInfo> Ec2Service::key_pairs() const {
  const std::lock_guard lock(mutex_);
  std::vector<aws::KeyPairInfo> out;
  for (const auto& [name, k] : state_->key_pairs) out.push_back(k);
  return out;
}

std::map<std::string, int> Ec2Service::calls() const {
  const std::lock_guard lock(mutex_);
  return state_->calls;
}

}  // namespace cloudtwin::ec2test
