// ImageFetcher over Boost.Beast and OpenSSL: one streamed GET per attempt into a file,
// SHA-256 on the fly, zero blocks left as holes, Range/If-Range to go on after a break.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once inlined (see
// aws/adapters/beast_http_client.cpp): Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <variant>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/image_import.hpp"

namespace cloudtwin::host {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kBlock = 4096;
constexpr int kMaxRedirects = 5;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
bool set_sni(SSL* ssl, const std::string& host) {
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}
#pragma GCC diagnostic pop

// A break worth another attempt (connection refused or cut, timeout, short body).
struct Broken {
  std::string why;
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { reset(); }
  void reset() {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw Error(ErrorCode::System, "OpenSSL: cannot start SHA-256");
  }
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md.data(), &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4U];
      out += kHex[md[i] & 15U];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string errno_text() { return std::strerror(errno); }

bool all_zero(const char* p, std::size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

// The output file: bytes at increasing offsets, zero blocks skipped (holes read as zero).
class SparseFile {
 public:
  SparseFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(ErrorCode::Io, "cannot create " + path + ": " + errno_text());
  }
  SparseFile(const SparseFile&) = delete;
  SparseFile& operator=(const SparseFile&) = delete;
  ~SparseFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(std::uint64_t offset, const char* data, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
      // Skip zero blocks, then write the run of non-zero blocks that follows in one call.
      const std::size_t len = std::min(kBlock, n - i);
      if (all_zero(data + i, len)) {
        i += len;
        continue;
      }
      std::size_t end = i + len;
      while (end < n) {
        const std::size_t l = std::min(kBlock, n - end);
        if (all_zero(data + end, l)) break;
        end += l;
      }
      put(offset + i, data + i, end - i);
      i = end;
    }
  }
  void finish(std::uint64_t size) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw Error(ErrorCode::Io, "cannot size " + path_ + ": " + errno_text());
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw Error(ErrorCode::Io, "cannot write " + path_ + ": " + errno_text());
    }
    fd_ = -1;
  }
  void restart() {
    if (::ftruncate(fd_, 0) != 0)
      throw Error(ErrorCode::Io, "cannot truncate " + path_ + ": " + errno_text());
  }

 private:
  void put(std::uint64_t offset, const char* data, std::size_t n) {
    while (n > 0) {
      const auto w = ::pwrite(fd_, data, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorCode::Io, "cannot write " + path_ + ": " + errno_text());
      }
      data += w;
      n -= static_cast<std::size_t>(w);
      offset += static_cast<std::uint64_t>(w);
    }
  }
  std::string path_;
  int fd_ = -1;
};

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string field(const http::fields& f, std::string_view name) {
  const auto it = f.find(beast::string_view(name.data(), name.size()));
  return it == f.end() ? std::string() : std::string(it->value());
}

bool has_header(const aws::Params& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (core::equals_icase(n, name)) return true;
  }
  return false;
}

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The state of one transfer across attempts and redirects.
struct Transfer {
  const DownloadRequest& request;
  SparseFile& file;
  Sha256& sha;
  const TransferProgress& progress;
  HttpUrl url;
  std::string dest;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> total;
  std::string validator;  // strong ETag or Last-Modified, for If-Range
  bool ranges = false;    // the server said Accept-Ranges: bytes (or answered a range)
  bool progressed = false;
  int resumes = 0;
  int redirects = 0;
};

class BeastFetcher final : public ImageFetcher {
 public:
  explicit BeastFetcher(FetcherOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client), buffer_(kChunk) {
    tls_.set_default_verify_paths();
    if (!options_.ca_file.empty()) {
      beast::error_code ec;
      tls_.load_verify_file(options_.ca_file, ec);
      if (ec)
        throw Error(ErrorCode::Io,
                    "cannot load the CA file " + options_.ca_file + ": " + ec.message());
    }
    tls_.set_verify_mode(options_.verify_tls ? ssl::verify_peer : ssl::verify_none);
  }

  FetchResult download(const DownloadRequest& request, const std::string& dest,
                       const TransferProgress& progress) override {
    SparseFile file(dest);
    Sha256 sha;
    Transfer t{request,      file, sha,   progress, request.url, dest, 0,
               std::nullopt, {},   false, false,    0,           0};
    int failures = 0;
    auto delay = options_.retry_delay;
    while (true) {
      check_cancel(t.url);
      t.progressed = false;
      try {
        if (attempt(t)) break;
        continue;  // redirected
      } catch (const Broken& b) {
        if (t.progressed) {
          failures = 0;
          delay = options_.retry_delay;
        }
        if (++failures >= options_.max_attempts) {
          throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": " + b.why + " (gave up after " +
                                         std::to_string(failures) + " attempts)");
        }
        if (t.offset > 0 && !t.ranges) restart(t);  // no ranges: from the start
        if (t.offset > 0) ++t.resumes;
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(5000));
      }
    }
    file.finish(t.offset);
    return {t.offset, sha.hex(), t.resumes};
  }

  FetchResult hash_file(const std::string& path, const TransferProgress& progress) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorCode::Io, "cannot open " + path + ": " + errno_text());
    const std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
      ::close(*p);
      delete p;
    });
    struct stat st {};
    std::optional<std::uint64_t> total;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      total = static_cast<std::uint64_t>(st.st_size);
    Sha256 sha;
    std::uint64_t done = 0;
    while (true) {
      if (options_.cancel != nullptr && options_.cancel->load())
        throw Error(ErrorCode::Io, "reading " + path + ": interrupted");
      const auto n = ::read(fd, buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorCode::Io, "cannot read " + path + ": " + errno_text());
      }
      if (n == 0) break;
      sha.update(buffer_.data(), static_cast<std::size_t>(n));
      done += static_cast<std::uint64_t>(n);
      if (progress) progress(done, total);
    }
    return {done, sha.hex(), 0};
  }

 private:
  void check_cancel(const HttpUrl& url) const {
    if (options_.cancel != nullptr && options_.cancel->load())
      throw Error(ErrorCode::Io, "GET " + url.masked() + ": interrupted");
  }

  static void restart(Transfer& t) {
    t.file.restart();
    t.sha.reset();
    t.offset = 0;
  }

  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  // One connection, one GET. True when the body is complete; false after a redirect.
  bool attempt(Transfer& t) {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    const auto results = resolver.resolve(t.url.host, std::to_string(t.url.port),
                                          tcp::resolver::numeric_service, ec);
    if (ec)
      throw Error(ErrorCode::Io,
                  "GET " + t.url.masked() + ": cannot resolve " + t.url.host + ": " + ec.message());
    beast::tcp_stream tcp_stream(ioc_);
    tcp_stream.expires_after(options_.timeout);
    ec = run([&](auto h) { tcp_stream.async_connect(results, std::move(h)); });
    if (ec) throw Broken{"cannot connect: " + ec.message()};
    if (!t.url.tls()) {
      PlainStream stream(std::move(tcp_stream));
      return exchange(stream, t);
    }
    TlsStream stream(std::move(tcp_stream), tls_);
    if (!set_sni(stream.native_handle(), t.url.host))
      throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": cannot set TLS SNI");
    if (options_.verify_tls) stream.set_verify_callback(ssl::host_name_verification(t.url.host));
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    ec = run([&](auto h) { stream.async_handshake(ssl::stream_base::client, std::move(h)); });
    if (ec) {
      // Not retried: a certificate that does not verify will not verify next time.
      throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": TLS handshake with " + t.url.host +
                                     " failed: " + ec.message() +
                                     " (the server certificate is verified; --ca-file FILE adds "
                                     "a private CA)");
    }
    return exchange(stream, t);
  }

  template <typename Stream>
  bool exchange(Stream& stream, Transfer& t) {
    http::request<http::empty_body> req{http::verb::get, t.url.target, 11};
    req.set(http::field::host, t.url.host_header());
    req.set(http::field::user_agent, "cloudtwin");
    req.set(http::field::accept_encoding, "identity");
    const std::string range = t.offset > 0 ? "bytes=" + std::to_string(t.offset) + "-" : "";
    aws::Params extra;
    if (t.request.headers) extra = t.request.headers(t.url, range);
    if (!range.empty() && !has_header(extra, "range")) extra.emplace_back("Range", range);
    if (!range.empty() && !t.validator.empty() && !has_header(extra, "if-range"))
      extra.emplace_back("If-Range", t.validator);
    for (const auto& [n, v] : extra) req.set(n, v);
    req.keep_alive(false);

    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    ec = run([&](auto h) { http::async_write(stream, req, std::move(h)); });
    if (ec) throw Broken{"sending the request: " + ec.message()};

    // Beast reads max(512, free capacity) at a time: without room, 512-byte reads (and
    // writes) made the transfer 4x slower than curl.
    beast::flat_buffer wire;
    wire.reserve(kChunk);
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: Boost 1.74 compares the length with an empty limit as "exceeded".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    ec = run([&](auto h) { http::async_read_header(stream, wire, parser, std::move(h)); });
    if (ec) throw Broken{"reading the answer: " + ec.message()};
    const auto& res = parser.get();
    const int status = static_cast<int>(res.result_int());

    if (status >= 300 && status < 400 && status != 304 && t.request.follow_redirects) {
      const auto location = field(res, "Location");
      if (location.empty()) refuse(t, status, res.reason(), "");
      auto next = resolve_location(t.url, location);
      if (t.url.tls() && !next.tls()) {
        throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": redirected to " + next.masked() +
                                       ", from https to http: refused");
      }
      if (++t.redirects > kMaxRedirects)
        throw Error(ErrorCode::Io, "GET " + t.request.url.masked() + ": more than " +
                                       std::to_string(kMaxRedirects) + " redirects");
      t.url = std::move(next);
      return false;
    }
    if (status == 200) {
      if (t.offset > 0) restart(t);  // the range was not honoured, or the file changed
      t.ranges = core::lower(field(res, "Accept-Ranges")).find("bytes") != std::string::npos;
      t.total = parser.content_length() ? std::optional<std::uint64_t>(*parser.content_length())
                                        : std::nullopt;
      const auto etag = field(res, "ETag");
      t.validator = !etag.empty() && !etag.starts_with("W/") ? etag : field(res, "Last-Modified");
    } else if (status == 206 && t.offset > 0) {
      const auto cr = parse_content_range(field(res, "Content-Range"));
      if (!cr || cr->first != t.offset)
        throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": asked for bytes from " +
                                       std::to_string(t.offset) + ", got Content-Range '" +
                                       field(res, "Content-Range") + "'");
      t.ranges = true;
      if (cr->total) t.total = cr->total;
    } else {
      std::string body;
      read_small_body(stream, wire, parser, body);
      refuse(t, status, res.reason(), body);
    }
    check_space(t);
    return read_body(stream, wire, parser, t);
  }

  template <typename Stream, typename Parser>
  void read_small_body(Stream& stream, beast::flat_buffer& wire, Parser& parser,
                       std::string& body) {
    std::array<char, 4096> chunk{};
    while (!parser.is_done() && body.size() < 65536) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::get_lowest_layer(stream).expires_after(options_.timeout);
      auto ec = run([&](auto h) { http::async_read_some(stream, wire, parser, std::move(h)); });
      if (ec == http::error::need_buffer) ec = {};
      body.append(chunk.data(), chunk.size() - parser.get().body().size);
      if (ec) break;
    }
  }

  [[noreturn]] void refuse(const Transfer& t, int status, beast::string_view reason,
                           const std::string& body) {
    if (t.request.describe_failure)
      throw Error(ErrorCode::Io, t.request.describe_failure(status, body));
    std::string msg = "GET " + t.url.masked() + ": HTTP " + std::to_string(status);
    if (!reason.empty()) msg += " " + std::string(reason);
    if (status == 404) msg += " (check the URL)";
    if (status == 401 || status == 403) msg += " (the server refuses to give the image)";
    throw Error(status == 404 ? ErrorCode::NotFound : ErrorCode::Io, msg);
  }

  void check_space(const Transfer& t) const {
    if (!t.total || *t.total <= t.offset) return;
    struct statvfs vfs {};
    const auto dir = dir_of(t.dest);
    if (::statvfs(dir.c_str(), &vfs) != 0) return;
    const auto free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    const auto need = *t.total - t.offset;
    if (free < need) {
      throw Error(ErrorCode::Io, "GET " + t.url.masked() + ": " + std::to_string(need) +
                                     " bytes to fetch but only " + std::to_string(free) +
                                     " free in " + dir + "; free some space first");
    }
  }

  template <typename Stream, typename Parser>
  bool read_body(Stream& stream, beast::flat_buffer& wire, Parser& parser, Transfer& t) {
    while (!parser.is_done()) {
      check_cancel(t.url);
      parser.get().body().data = buffer_.data();
      parser.get().body().size = buffer_.size();
      beast::get_lowest_layer(stream).expires_after(options_.timeout);
      auto ec = run([&](auto h) { http::async_read_some(stream, wire, parser, std::move(h)); });
      if (ec == http::error::need_buffer) ec = {};
      const auto n = buffer_.size() - parser.get().body().size;
      if (n > 0) {
        t.sha.update(buffer_.data(), n);
        t.file.write(t.offset, buffer_.data(), n);
        t.offset += n;
        t.progressed = true;
        if (t.progress) t.progress(t.offset, t.total);
      }
      if (ec)
        throw Broken{"connection broken after " + std::to_string(t.offset) +
                     " bytes: " + ec.message()};
    }
    if (t.total && t.offset != *t.total)
      throw Broken{"body ended at " + std::to_string(t.offset) + " of " + std::to_string(*t.total) +
                   " bytes"};
    return true;
  }

  FetcherOptions options_;
  asio::io_context ioc_;
  ssl::context tls_;
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<ImageFetcher> make_image_fetcher(FetcherOptions options) {
  return std::make_unique<BeastFetcher>(std::move(options));
}

}  // namespace cloudtwin::host
