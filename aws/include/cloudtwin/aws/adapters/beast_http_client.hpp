#pragma once
// HttpClient over Boost.Beast: HTTP/1.1 with keep-alive, and HTTPS through OpenSSL with
// the peer's certificate and host name verified unless told otherwise.

#include <chrono>
#include <memory>
#include <string>

#include "cloudtwin/aws/http_client.hpp"

namespace cloudtwin::aws {

struct BeastHttpOptions {
  std::chrono::milliseconds timeout{30000};  // per exchange (connect, write, read)
  bool verify_tls = true;
  std::string ca_file;  // extra trusted CA (PEM); the system store is always used
  std::size_t body_limit = 64 * 1024 * 1024;
};

std::unique_ptr<HttpClient> make_beast_http_client(BeastHttpOptions options = {});

}  // namespace cloudtwin::aws
