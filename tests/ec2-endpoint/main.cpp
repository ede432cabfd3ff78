// cloudtwin-ec2-endpoint: the EC2 API test endpoint as a program, for trying awscli or
// `cloudtwin cloud add ec2 --endpoint` by hand. Credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY (else the built-in test pair, printed at start).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/ec2test/server.hpp"

namespace {

int usage() {
  std::cerr << "usage: cloudtwin-ec2-endpoint [--listen ADDRESS] [--port N] [--region R]\n"
               "                              [--image AMI]... [--instance-limit N]\n"
               "                              [--pending-describes N] [--fail N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cloudtwin;
  ec2test::ServiceOptions options;
  std::string address = "127.0.0.1";
  int port = 0;
  int fail = 0;
  bool images_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--listen")
      address = value;
    else if (arg == "--port")
      port = std::atoi(value.c_str());
    else if (arg == "--region")
      options.region = value;
    else if (arg == "--instance-limit")
      options.instance_limit = std::atoi(value.c_str());
    else if (arg == "--pending-describes")
      options.pending_describes = std::atoi(value.c_str());
    else if (arg == "--fail")
      fail = std::atoi(value.c_str());
    else if (arg == "--image") {
      if (!images_given) options.images.clear();
      images_given = true;
      options.images.insert(value);
    } else {
      return usage();
    }
  }
  if (const char* k = std::getenv("AWS_ACCESS_KEY_ID")) options.access_key_id = k;
  if (const char* s = std::getenv("AWS_SECRET_ACCESS_KEY")) options.secret_access_key = s;
  try {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the server's thread starts
    aws::OpenSslCrypto crypto;
    ec2test::Ec2Service service(crypto, options);
    if (fail > 0) service.fail_next(fail);
    ec2test::EndpointServer server(service, address, static_cast<std::uint16_t>(port));
    std::cout << "EC2 test endpoint on " << server.url() << " (region " << options.region
              << ", access key " << options.access_key_id << ")" << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
  } catch (const Error& e) {
    std::cerr << "cloudtwin-ec2-endpoint: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
