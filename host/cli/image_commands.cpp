// `cloudtwin image import NAME SOURCE`: the wiring of ImageImporter to the real fetcher
// (Beast + OpenSSL), qemu-img, the files and, for s3:// sources, the AWS credential chain
// and SigV4 signer the EC2 host uses.
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/aws/adapters/credential_files.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/s3.hpp"
#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image_import.hpp"
#include "cloudtwin/record/instance.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::host {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true); }

// SIGINT/SIGTERM stop the transfer at the next chunk, so the cleanup runs.
class InterruptScope {
 public:
  InterruptScope() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  ~InterruptScope() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

class EnvTextFiles final : public TextFiles {
 public:
  explicit EnvTextFiles(const CliEnv& env) : env_(env) {}
  std::optional<std::string> read(const std::string& path) override { return env_.read_file(path); }
  void write(const std::string& path, const std::string& text) override {
    env_.write_file(path, text, 0644);
  }

 private:
  const CliEnv& env_;
};

HttpUrl http_url(const aws::Url& u, const std::string& target) {
  return HttpUrl{u.scheme, u.host, u.port, target};
}

// The signed GET of an s3:// object: credentials and region the awscli way.
DownloadRequest s3_download(const aws::S3Location& location, const Args& a) {
  const aws::LocalConfigFiles files;
  const auto settings = aws::resolve_aws_settings(aws::process_environment(), files,
                                                  {a.option("--profile"), a.option("--region")});
  const auto region = settings.region.empty() ? std::string("us-east-1") : settings.region;
  std::optional<aws::Url> endpoint;
  if (const auto e = a.option("--endpoint"); !e.empty()) endpoint = aws::parse_url(e);
  const auto object = aws::s3_object(location, region, endpoint);
  DownloadRequest d;
  d.url = http_url(object.endpoint, object.path);
  d.follow_redirects = false;
  auto crypto = std::make_shared<aws::OpenSslCrypto>();
  d.headers = [crypto, creds = settings.credentials, region, object](const HttpUrl&,
                                                                     const std::string& range) {
    const aws::SigV4Signer signer(*crypto);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return aws::s3_get_object_headers(signer, creds, region, object, range, aws::amz_date(now));
  };
  d.describe_failure = [location](int status, const std::string& body) {
    return aws::describe_s3_failure(location, status, body);
  };
  return d;
}

// On a terminal one line redrawn in place (bytes, rate, ETA); otherwise a plain line per
// 10 % (or per 64 MiB without a length), so logs stay readable.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& err, bool quiet)
      : err_(err),
        quiet_(quiet),
        tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {}
  void operator()(ImportStage stage, std::uint64_t done, std::optional<std::uint64_t> total) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - start_).count();
    if (stage != stage_) {
      finish();
      stage_ = stage;
      step_ = -1;
    }
    const bool last = total && done >= *total;
    std::string line;
    if (stage == ImportStage::Convert) {
      line = "converting to qcow2: " + std::to_string(done) + "%";
    } else {
      line = "fetching: " + format_progress(done, total, secs);
    }
    if (tty_) {
      if (!last && now - drawn_ < std::chrono::milliseconds(200)) return;
      drawn_ = now;
      err_ << "\r" << line << "\033[K" << std::flush;
      open_ = true;
      return;
    }
    const long step = total && *total > 0 ? static_cast<long>(done * 10 / *total)
                                          : static_cast<long>(done >> 26U);
    if (step == step_) return;
    step_ = step;
    err_ << line << "\n";
  }
  void finish() {
    if (open_) err_ << "\n";
    open_ = false;
  }

 private:
  std::ostream& err_;
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point drawn_{};
  ImportStage stage_ = ImportStage::Fetch;
  long step_ = -1;
  bool open_ = false;
};

}  // namespace

int run_image_import(const std::vector<std::string>& args, std::size_t from, const CliEnv& env,
                     const std::string& config_path, std::ostream& out, std::ostream& err) {
  CliContext ctx{env, HostConfig{}, "", out, err};
  if (const auto text = env.read_file(config_path))
    ctx.config = parse_host_conf(*text, config_path);
  const auto a =
      parse_args(args, from, {"--sha256", "--endpoint", "--region", "--profile", "--ca-file"},
                 {"--json", "--quiet"});
  if (a.positional.size() != 2) throw UsageError{"image import needs NAME and SOURCE"};
  ImportRequest request;
  request.name = a.positional[0];
  request.source = parse_image_source(a.positional[1]);
  request.sha256 = a.option("--sha256");
  if (!request.sha256.empty()) request.sha256 = normalise_sha256(request.sha256);
  request.now = record::iso8601_utc(std::chrono::system_clock::now());
  if (request.source.kind == SourceKind::S3) {
    request.download = s3_download(request.source.s3, a);
  } else {
    if (!a.option("--endpoint").empty() || !a.option("--region").empty() ||
        !a.option("--profile").empty())
      throw UsageError{"--endpoint, --region and --profile are for s3:// sources"};
    request.download.url = request.source.url;
  }

  g_interrupted.store(false);
  const InterruptScope interrupts;
  FetcherOptions options;
  options.ca_file = a.option("--ca-file");
  options.cancel = &g_interrupted;
  auto fetcher = make_image_fetcher(options);
  auto storage = ctx.env.storage();
  auto tool = ctx.env.image_tool();
  EnvTextFiles files(ctx.env);
  const auto& settings = ctx.config.settings;
  ImageImporter importer(*storage, *tool, *fetcher, files, settings.images_dir,
                         settings.instances_dir + "/.lock");
  ProgressPrinter printer(ctx.err, a.json() || a.flags.count("--quiet") != 0);
  const auto r = importer.import(
      request, [&](ImportStage s, std::uint64_t done, std::optional<std::uint64_t> total) {
        printer(s, done, total);
      });
  printer.finish();
  if (a.json()) {
    ctx.out << record::dump(image_record_value(r)) << "\n";
  } else {
    ctx.out << "imported image " << r.name << " (" << human_size(r.virtual_size) << ", qcow2 from "
            << r.source_format << ") from " << r.origin << "\nsha256 " << r.sha256 << "\n";
  }
  return 0;
}

}  // namespace cloudtwin::host
