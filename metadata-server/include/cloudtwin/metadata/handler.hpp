#pragma once
// The request handler: (request, caller, now) -> response. Knows nothing of sockets,
// like handle_request() in Beast's http_server_async example; the server adapter
// only does I/O and applies Response::ip_ttl to the socket.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

class Handler {
 public:
  // `token_ttl_max` ([imds] token_ttl_max): a token PUT asking for more is 400.
  explicit Handler(TokenService& tokens, int token_ttl_max = TokenService::kMaxTtl)
      : tokens_(tokens), token_ttl_max_(token_ttl_max) {}

  // `caller` is the instance the request comes from, or null when the source is no
  // known VM (answered 404, like a path that does not exist: nothing is revealed).
  Response handle(const Request& request, const ServedInstance* caller,
                  Clock::time_point now) const;

 private:
  Response put_token(const Request& request, const ServedInstance& caller,
                     Clock::time_point now) const;
  Response get(const Request& request, const ServedInstance& caller, Clock::time_point now) const;

  TokenService& tokens_;
  int token_ttl_max_;
};

// The error page EC2 sends (XHTML, text/html) with this status.
Response error_response(int status);
std::string_view reason_phrase(int status);

}  // namespace cloudtwin::metadata
