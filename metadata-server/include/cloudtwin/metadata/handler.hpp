#pragma once
// The request handler: (request, caller, now) -> response. Knows nothing of sockets,
// like handle_request() in Beast's http_server_async example; the server adapter
// only does I/O and applies Response::ip_ttl to the socket.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/metadata/identity_credentials.hpp"
#include "cloudtwin/metadata/tokens.hpp"
#include "cloudtwin/metadata/tree.hpp"

namespace cloudtwin::metadata {

inline constexpr std::string_view kTokenHeader = "X-aws-ec2-metadata-token";
inline constexpr std::string_view kTokenTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // "/latest/meta-data/?x" as received
  std::vector<std::pair<std::string, std::string>> headers;

  // First header with this name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  // Names are string literals (static storage): no allocation per header name.
  std::vector<std::pair<std::string_view, std::string>> headers;
  std::string body;
  int ip_ttl = 0;  // >0: send this response with that IP TTL / hop limit

  std::optional<std::string_view> header(std::string_view name) const;
};

// The path of a request target as the handler resolves it: query and fragment cut off;
// absolute form ("http://host/p") reduced to its path, the host ignored; repeated
// slashes merged and "." / ".." resolved (RFC 3986 section 5.2.4), never above "/".
// Returns a view of `target` when nothing changes, else of `scratch`; nullopt when the
// target is neither origin form nor absolute form ("*", "latest/...").
std::optional<std::string_view> request_path(std::string_view target, std::string& scratch);

// A request path split for routing: "/" alone, or "/<version>/<rest>".
struct Target {
  bool root = false;         // "/"
  std::string_view version;  // first segment
  std::string_view rest;     // after "/<version>/", may be empty
};

// Whether the server ends the connection after an answer with this status: after every
// error, as EC2 does (it sends "Connection: close" on every answer; keep-alive for
// answers that succeed is ours, and saves clients a TCP handshake per key), except 429
// for the request rate: a throttled client reconnecting would cost more of what is
// being limited.
bool closes_connection(int status);

class Handler {
 public:
  // `token_ttl_max` ([imds] token_ttl_max): a token PUT asking for more is 400.
  // `credentials`, when set, answers meta-data/identity-credentials/ec2/*.
  explicit Handler(TokenService& tokens, int token_ttl_max = TokenService::kMaxTtl,
                   IdentityCredentials* credentials = nullptr)
      : tokens_(tokens), token_ttl_max_(token_ttl_max), credentials_(credentials) {}

  // `caller` is the instance the request comes from, or null when the source is no
  // known VM (answered 404, like a path that does not exist: nothing is revealed).
  Response handle(const Request& request, const ServedInstance* caller,
                  Clock::time_point now) const;

 private:
  Response put_token(const Request& request, const std::optional<Target>& target,
                     const ServedInstance& caller, Clock::time_point now) const;
  Response get(const Request& request, const std::optional<Target>& target,
               const ServedInstance& caller, Clock::time_point now) const;

  TokenService& tokens_;
  int token_ttl_max_;
  IdentityCredentials* credentials_;
};

// The error page EC2 sends (XHTML, text/html) with this status.
Response error_response(int status);
std::string_view reason_phrase(int status);

}  // namespace cloudtwin::metadata
