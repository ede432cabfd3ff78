#pragma once
// `cloudtwin image import NAME SOURCE`: a path, an http(s) URL or an s3:// object streamed
// to a hidden file in [storage] images (never held in memory), checked against --sha256,
// probed and converted to qcow2 by qemu-img, recorded in .NAME.json beside the image and
// renamed into place last, so a failed or interrupted import leaves nothing a VM or
// `image list` could see. Pure: the network and the files are the seams below.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/aws/uri.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/image.hpp"
#include "cloudtwin/host/image_source.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::host {

using TransferProgress =
    std::function<void(std::uint64_t done, std::optional<std::uint64_t> total)>;

struct DownloadRequest {
  HttpUrl url;
  // Headers of each request (S3 signs every attempt, its Range included); `range` is
  // "bytes=N-" when resuming, else empty. Unset: none.
  std::function<aws::Params(const HttpUrl& url, const std::string& range)> headers;
  // Redirects (at most 5; https -> http refused). S3 answers are never redirects we follow.
  bool follow_redirects = true;
  // The message for an answer that is not the object (S3's XML errors); unset:
  // "GET URL: HTTP 404 Not Found".
  std::function<std::string(int status, const std::string& body)> describe_failure;
};

struct FetchResult {
  std::uint64_t bytes = 0;
  std::string sha256;  // lower-case hex of the bytes
  int resumes = 0;     // times a broken transfer went on from where it stopped
};

// Streams sources to files; throws Error naming the URL (masked) or path.
class ImageFetcher {
 public:
  virtual ~ImageFetcher() = default;
  // GET to `dest` (created; zero blocks left as holes), SHA-256 as it goes; a broken
  // connection is resumed with Range when the server allows it. Refuses when the file
  // system of `dest` has less room than the announced length.
  virtual FetchResult download(const DownloadRequest& request, const std::string& dest,
                               const TransferProgress& progress) = 0;
  virtual FetchResult hash_file(const std::string& path, const TransferProgress& progress) = 0;
};

// Small text files (the image records), written atomically.
class TextFiles {
 public:
  virtual ~TextFiles() = default;
  virtual std::optional<std::string> read(const std::string& path) = 0;
  virtual void write(const std::string& path, const std::string& text) = 0;
};

// What the repository knows of an imported image (.NAME.json, kebab-case keys).
struct ImageRecord {
  std::string name;
  std::string format;  // of the stored image: qcow2
  std::uint64_t virtual_size = 0;
  std::string source_format;  // as qemu-img probed the source: raw, qcow2, ...
  std::uint64_t source_size = 0;
  std::string sha256;  // of the source bytes
  std::string origin;  // path, masked URL or s3://bucket/key
  std::string imported_at;
  bool operator==(const ImageRecord&) const = default;
};

// The record as JSON (kebab-case keys): a value, and the file text (indented, one newline).
record::Json image_record_value(const ImageRecord& record);
std::string image_record_json(const ImageRecord& record);
// Throws Error(InvalidArgument) naming `source` when the text is not such a record.
ImageRecord parse_image_record(std::string_view json, std::string_view source);
std::string image_record_path(const std::string& images_dir, const std::string& name);

struct ImportRequest {
  std::string name;  // empty: from the source's last path segment
  ImageSource source;
  DownloadRequest download;  // for Http and S3 sources
  std::string sha256;        // expected, any case; empty: not checked
  std::string now;           // ISO 8601, for the record
};

enum class ImportStage { Fetch, Convert };

class ImageImporter {
 public:
  ImageImporter(Storage& storage, ImageTool& tool, ImageFetcher& fetcher, TextFiles& files,
                std::string images_dir, std::string lock_path)
      : storage_(storage),
        tool_(tool),
        fetcher_(fetcher),
        files_(files),
        dir_(std::move(images_dir)),
        lock_path_(std::move(lock_path)) {}

  // `progress` sees the fetch (bytes) and then the conversion (percent as done of 100).
  ImageRecord import(const ImportRequest& request,
                     const std::function<void(ImportStage, std::uint64_t,
                                              std::optional<std::uint64_t>)>& progress);
  // nullopt for an image registered from a file without a record.
  std::optional<ImageRecord> record(const std::string& name);

 private:
  Storage& storage_;
  ImageTool& tool_;
  ImageFetcher& fetcher_;
  TextFiles& files_;
  std::string dir_;
  std::string lock_path_;
};

struct FetcherOptions {
  bool verify_tls = true;
  std::string ca_file;                       // extra trusted CA (PEM) besides the system store
  std::chrono::milliseconds timeout{30000};  // per connect / read
  int max_attempts = 6;                      // tries without progress before a transfer is given up
  std::chrono::milliseconds retry_delay{200};  // doubled per try, at most 5 s
  const std::atomic<bool>* cancel = nullptr;   // set (by SIGINT) to stop at the next chunk
};

// Boost.Beast + OpenSSL (adapters/http_fetcher.cpp).
std::unique_ptr<ImageFetcher> make_image_fetcher(FetcherOptions options);

}  // namespace cloudtwin::host
