// The EC2 client's costs, each beside a reference run in the same process or the same
// machine (issue 11):
// 1. SigV4 signing of a RunInstances request: cloudtwin's signer (OpenSSL) vs botocore's
//    SigV4Auth.add_auth on the same request (timed inside Python, start-up excluded);
// 2. `vm create` to running against the EC2 test endpoint on loopback (RunInstances, then
//    DescribeInstances until running: 3 exchanges): cloudtwin's Ec2Client vs the same
//    exchanges pre-signed and sent raw (the endpoint's own latency); the overhead is
//    printed (target < 20 ms);
// 3. reading a DescribeInstances answer of 200 instances: cloudtwin's reader vs
//    botocore's EC2 parser on the same bytes (target < 100 ms);
// 4. `vm create` through the EC2 host (record journal, MIME user-data, RunInstances,
//    polling to running) vs the endpoint's own latency for the same three exchanges
//    (overhead target < 20 ms), and `vm list` of 200 EC2 VMs (one DescribeInstances of
//    200, states refreshed) beside botocore's parse of such a page (target < 100 ms).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloudtwin/aws/adapters/beast_http_client.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/ec2_client.hpp"
#include "cloudtwin/aws/ec2_xml.hpp"
#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/ec2test/memory_records.hpp"
#include "cloudtwin/ec2test/server.hpp"
#include "cloudtwin/host/ec2_host.hpp"
#include "ratio.hpp"

namespace {

using namespace cloudtwin;

constexpr const char* kPython = "/usr/bin/python3";
const std::string kScript = std::string(CLOUDTWIN_BENCH_DIR) + "/aws_botocore_ref.py";
const std::string kBody =
    "Action=RunInstances&Version=2016-11-15&ImageId=ami-0cloudtwin0test0&InstanceType=t3.micro"
    "&MinCount=1&MaxCount=1&ClientToken=bench-token"
    "&UserData=I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViCg%3D%3D"
    "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"
    "&TagSpecification.1.Tag.1.Value=web";
const aws::Credentials kCreds{"AKIDCLOUDTWINTEST", "cloudtwin/test+secret", "", "bench"};

// One number from the botocore script (ns per operation); 0 when botocore is missing.
double botocore_ns(const std::string& args) {
  const std::string command = std::string(kPython) + " " + kScript + " " + args + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  double ns = 0;
  if (std::fscanf(pipe, "%lf", &ns) != 1) ns = 0;
  ::pclose(pipe);
  return ns;
}

void BM_SignRunInstances(benchmark::State& state) {
  aws::OpenSslCrypto crypto;
  const aws::SigV4Signer signer(crypto);
  aws::SignableRequest r;
  r.method = "POST";
  r.host = "127.0.0.1:8773";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = kBody;
  for (auto _ : state) {
    benchmark::DoNotOptimize(signer.sign(r, kCreds, {"us-east-1", "ec2"}, "20261205T080000Z"));
  }
}
BENCHMARK(BM_SignRunInstances);

void BM_BotocoreSigV4Auth(benchmark::State& state) {
  static const double ns = botocore_ns("sign 20000");
  if (ns <= 0) {
    state.SkipWithError("python3-botocore is not installed");
    return;
  }
  for (auto _ : state) state.SetIterationTime(ns / 1e9);
}
BENCHMARK(BM_BotocoreSigV4Auth)->UseManualTime()->Iterations(1);
const bool kSignPair =
    bench::register_ratio({"BM_SignRunInstances", "BM_BotocoreSigV4Auth/iterations:1/manual_time",
                           "SigV4 sign RunInstances vs botocore SigV4Auth"});

// A fresh endpoint per benchmark, so both see the same growth of its instance table.
struct Cloud {
  aws::OpenSslCrypto crypto;
  ec2test::Ec2Service service;
  ec2test::EndpointServer server;
  std::unique_ptr<aws::HttpClient> http = aws::make_beast_http_client();
  Cloud() : service(crypto, options()), server(service) {}
  static ec2test::ServiceOptions options() {
    ec2test::ServiceOptions o;
    o.instance_limit = 1 << 30;
    return o;
  }
};

class NoWait : public aws::Ec2Timing {
 public:
  std::string amz_date() override { return "20261205T080000Z"; }
  void sleep(std::chrono::milliseconds) override {}
  double random_unit() override { return 0; }
};

constexpr int kCreates = 300;

void BM_CreateToRunning(benchmark::State& state) {
  Cloud cloud;
  NoWait timing;
  aws::Ec2Client ec2(*cloud.http, cloud.crypto, timing, kCreds,
                     {"us-east-1", aws::parse_url(cloud.server.url()), {}});
  int n = 0;
  for (auto _ : state) {
    aws::RunInstancesRequest r;
    r.image_id = "ami-0cloudtwin0test0";
    r.instance_type = "t3.micro";
    r.client_token = "bench-" + std::to_string(n++);
    r.user_data = "#cloud-config\nhostname: web\n";
    r.tags = {{"Name", "web"}};
    const auto id = ec2.run_instances(r).instances.at(0).instance_id;
    std::string s = "pending";
    while (s != "running") s = ec2.describe_instances({{id}, {}, 0}).at(0).state;
  }
}
BENCHMARK(BM_CreateToRunning)->Iterations(kCreates)->Unit(benchmark::kMicrosecond);

// The same three exchanges, signed before the clock starts and sent as they are.
void BM_EndpointOwnLatency(benchmark::State& state) {
  Cloud cloud;
  const auto url = aws::parse_url(cloud.server.url());
  const auto prepare = [&](const std::string& body) {
    aws::HttpRequest req;
    req.method = "POST";
    req.body = body;
    req.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}};
    aws::SignableRequest s;
    s.method = "POST";
    s.host = url.host_header();
    s.headers = req.headers;
    s.body = req.body;
    const auto sig =
        aws::SigV4Signer(cloud.crypto).sign(s, kCreds, {"us-east-1", "ec2"}, "20261205T080000Z");
    req.headers.insert(req.headers.end(), sig.headers.begin(), sig.headers.end());
    return req;
  };
  std::vector<std::array<aws::HttpRequest, 2>> prepared;
  for (int n = 0; n < kCreates; ++n) {
    const std::string token = "raw-" + std::to_string(n);
    prepared.push_back(
        {prepare(aws::form_encode({{"Action", "RunInstances"},
                                   {"Version", "2016-11-15"},
                                   {"ImageId", "ami-0cloudtwin0test0"},
                                   {"InstanceType", "t3.micro"},
                                   {"MinCount", "1"},
                                   {"MaxCount", "1"},
                                   {"ClientToken", token},
                                   {"UserData", "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViCg=="},
                                   {"TagSpecification.1.ResourceType", "instance"},
                                   {"TagSpecification.1.Tag.1.Key", "Name"},
                                   {"TagSpecification.1.Tag.1.Value", "web"}})),
         prepare(aws::form_encode({{"Action", "DescribeInstances"},
                                   {"Version", "2016-11-15"},
                                   {"Filter.1.Name", "client-token"},
                                   {"Filter.1.Value.1", token}}))});
  }
  int n = 0;
  for (auto _ : state) {
    const auto& [run, describe] = prepared[static_cast<std::size_t>(n++)];
    benchmark::DoNotOptimize(cloud.http->send(url, run));
    benchmark::DoNotOptimize(cloud.http->send(url, describe));
    benchmark::DoNotOptimize(cloud.http->send(url, describe));
  }
}
BENCHMARK(BM_EndpointOwnLatency)->Iterations(kCreates)->Unit(benchmark::kMicrosecond);
const bool kCreatePair = bench::register_ratio({"BM_CreateToRunning/iterations:300",
                                                "BM_EndpointOwnLatency/iterations:300",
                                                "create->running: raw exchanges / Ec2Client"});

// A DescribeInstances answer with 200 instances, as the endpoint writes it.
const std::string& describe_200() {
  static const std::string xml = [] {
    Cloud cloud;
    NoWait timing;
    aws::Ec2Client ec2(*cloud.http, cloud.crypto, timing, kCreds,
                       {"us-east-1", aws::parse_url(cloud.server.url()), {}});
    aws::RunInstancesRequest r;
    r.image_id = "ami-0cloudtwin0test0";
    r.instance_type = "t3.micro";
    r.min_count = r.max_count = 200;
    r.tags = {{"Name", "web"}, {"Env", "dev"}};
    ec2.run_instances(r);
    return ec2.call("DescribeInstances", {});
  }();
  return xml;
}

void BM_ParseDescribe200(benchmark::State& state) {
  const auto& xml = describe_200();
  for (auto _ : state) {
    const auto page = aws::parse_describe_instances(xml);
    if (page.reservations.at(0).instances.size() != 200) state.SkipWithError("not 200");
  }
}
BENCHMARK(BM_ParseDescribe200)->Unit(benchmark::kMillisecond);

void BM_BotocoreParseDescribe200(benchmark::State& state) {
  static const double ns = [] {
    char path[] = "/tmp/cloudtwin-describe200-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return 0.0;
    ::close(fd);
    std::ofstream(path) << describe_200();
    const double r = botocore_ns(std::string("parse ") + path + " 20");
    ::unlink(path);
    return r;
  }();
  if (ns <= 0) {
    state.SkipWithError("python3-botocore is not installed");
    return;
  }
  for (auto _ : state) state.SetIterationTime(ns / 1e9);
}
BENCHMARK(BM_BotocoreParseDescribe200)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
const bool kParsePair = bench::register_ratio(
    {"BM_ParseDescribe200", "BM_BotocoreParseDescribe200/iterations:1/manual_time",
     "DescribeInstances 200 instances vs botocore parser"});

// The EC2 host over the endpoint, records in memory (the files adapter adds an fsync).
using ec2test::MemoryRecords;

class BenchRandom : public host::Random {
 public:
  std::uint64_t next_u64() override { return 0x9e3779b97f4a7c15ULL * ++n_; }

 private:
  std::uint64_t n_ = 0;
};

std::unique_ptr<host::Ec2Host> ec2_host(Cloud& cloud, MemoryRecords*& records) {
  host::Ec2Adapters a;
  a.http = aws::make_beast_http_client();
  a.crypto = std::make_unique<aws::OpenSslCrypto>();
  a.timing = std::make_unique<NoWait>();
  auto store = std::make_unique<MemoryRecords>();
  records = store.get();
  a.records = std::move(store);
  a.random = std::make_unique<BenchRandom>();
  a.credentials = [] { return kCreds; };
  host::Ec2Config c;
  c.region = "us-east-1";
  c.endpoint = cloud.server.url();
  return std::make_unique<host::Ec2Host>("ec2", c, std::move(a));
}

const host::VmTemplate& web_template() {
  static const auto t = host::parse_vm_template(
      "CONTEXT = [ SSH_PUBLIC_KEY = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host\" ]\n"
      "EC2 = [ AMI = ami-0cloudtwin0test0, INSTANCETYPE = t3.micro, TAGS = \"Env=dev\" ]\n");
  return t;
}

void BM_Ec2HostCreate(benchmark::State& state) {
  Cloud cloud;
  MemoryRecords* records = nullptr;
  auto h = ec2_host(cloud, records);
  int n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h->create(web_template(), {"vm" + std::to_string(n++), "", "bench"}));
  }
}
BENCHMARK(BM_Ec2HostCreate)->Iterations(kCreates)->Unit(benchmark::kMicrosecond);
const bool kHostCreatePair = bench::register_ratio(
    {"BM_Ec2HostCreate/iterations:300", "BM_EndpointOwnLatency/iterations:300",
     "vm create on EC2 (Ec2Host): endpoint's own latency / ours"});

void BM_Ec2HostList200(benchmark::State& state) {
  Cloud cloud;
  MemoryRecords* records = nullptr;
  auto h = ec2_host(cloud, records);
  for (int n = 0; n < 200; ++n) h->create(web_template(), {"vm" + std::to_string(n), "", ""});
  for (auto _ : state) {
    const auto list = h->list();
    if (list.size() != 200 || list.back().state != host::VmState::Running)
      state.SkipWithError("not 200 running VMs");
  }
}
BENCHMARK(BM_Ec2HostList200)->Unit(benchmark::kMillisecond);
const bool kHostListPair = bench::register_ratio(
    {"BM_Ec2HostList200", "BM_BotocoreParseDescribe200/iterations:1/manual_time",
     "vm list of 200 EC2 VMs vs botocore parsing a 200-instance page"});

}  // namespace
