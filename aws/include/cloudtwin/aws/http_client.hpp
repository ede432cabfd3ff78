#pragma once
// The HTTP exchange the EC2 and S3 clients need, behind an interface: the Beast/OpenSSL
// implementation is adapters/beast_http_client.hpp; tests pass fakes that answer from a
// table or fail at the Nth call.

#include <string>

#include "cloudtwin/aws/uri.hpp"

namespace cloudtwin::aws {

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query as sent
  Params headers;            // Host is set by the client from the endpoint
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Params headers;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Throws Error(Io) when the endpoint cannot be reached or the exchange breaks (the
  // caller may retry); any HTTP status is an answer.
  virtual HttpResponse send(const Url& endpoint, const HttpRequest& request) = 0;
};

}  // namespace cloudtwin::aws
