// image import, pure parts: URLs and redirects, sources, Content-Range, --sha256, the
// progress line, the record, and ImageImporter on fakes (every failure leaves nothing).
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image_import.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HttpUrl, Parses) {
  struct Case {
    std::string text;
    std::string scheme, host;
    std::uint16_t port;
    std::string target, back, masked;
  };
  const std::vector<Case> cases = {
      {"http://example.org/a.qcow2", "http", "example.org", 80, "/a.qcow2",
       "http://example.org/a.qcow2", "http://example.org/a.qcow2"},
      {"HTTPS://Example.ORG:8443", "https", "example.org", 8443, "/", "https://example.org:8443/",
       "https://example.org:8443/"},
      {"https://h/x.raw?X-Amz-Signature=abc&b=1#frag", "https", "h", 443,
       "/x.raw?X-Amz-Signature=abc&b=1", "https://h/x.raw?X-Amz-Signature=abc&b=1",
       "https://h/x.raw?..."},
      {"http://[::1]:8080/i%20mg", "http", "::1", 8080, "/i%20mg", "http://[::1]:8080/i%20mg",
       "http://[::1]:8080/i%20mg"},
      {"http://127.0.0.1:80?q", "http", "127.0.0.1", 80, "/?q", "http://127.0.0.1/?q",
       "http://127.0.0.1/?..."},
  };
  for (const auto& c : cases) {
    const auto u = parse_http_url(c.text);
    EXPECT_EQ(u.scheme, c.scheme) << c.text;
    EXPECT_EQ(u.host, c.host) << c.text;
    EXPECT_EQ(u.port, c.port) << c.text;
    EXPECT_EQ(u.target, c.target) << c.text;
    EXPECT_EQ(u.to_string(), c.back) << c.text;
    EXPECT_EQ(u.masked(), c.masked) << c.text;
  }
}

TEST(HttpUrl, Refuses) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"example.org/a", "URL 'example.org/a': no scheme (http:// or https://)"},
      {"ftp://h/a", "URL 'ftp://h/a': scheme 'ftp' is not http or https"},
      {"http://user:pw@h/a?secret",
       "URL 'http://user:pw@h/a?...': user:password@ in URLs is "
       "not supported"},
      {"http://h:0/", "URL 'http://h:0/': port '0' is not 1-65535"},
      {"http://h:70000/", "URL 'http://h:70000/': port '70000' is not 1-65535"},
      {"http://h:/", "URL 'http://h:/': port '' is not 1-65535"},
      {"http:///a", "URL 'http:///a': no host"},
      {"http://h/a b", "URL 'http://h/a b': space or control character (percent-encode it)"},
      {"http://[::1/", "URL 'http://[::1/': '[' without ']'"},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(error_of([&] { parse_http_url(text); }), want);
}

TEST(HttpUrl, ResolvesRedirects) {
  const auto base = parse_http_url("https://h:8443/dir/sub/img.qcow2?sig=1");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://other/x", "http://other/x"},
      {"//cdn.example/i.raw", "https://cdn.example/i.raw"},
      {"/abs/path?x=1", "https://h:8443/abs/path?x=1"},
      {"next.qcow2", "https://h:8443/dir/sub/next.qcow2"},
      {"../up.qcow2", "https://h:8443/dir/up.qcow2"},
      {"./same/../x", "https://h:8443/dir/sub/x"},
      {"../../../../root", "https://h:8443/root"},
      {"?sig=2", "https://h:8443/dir/sub/img.qcow2?sig=2"},
      {"  /t#frag ", "https://h:8443/t"},
  };
  for (const auto& [loc, want] : cases)
    EXPECT_EQ(resolve_location(base, loc).to_string(), want) << loc;
  EXPECT_EQ(error_of([&] { resolve_location(base, ""); }),
            "URL 'https://h:8443/dir/sub/img.qcow2?...': redirect without a Location");
}

TEST(ImageSourceText, Kinds) {
  struct Case {
    std::string text;
    SourceKind kind;
    std::string origin, base;
  };
  const std::vector<Case> cases = {
      {"/var/img/debian.raw", SourceKind::Path, "/var/img/debian.raw", "debian.qcow2"},
      {"rel/dir/x", SourceKind::Path, "rel/dir/x", "x.qcow2"},
      {"https://h/images/debian-12.qcow2?token=s3cret", SourceKind::Http,
       "https://h/images/debian-12.qcow2?...", "debian-12.qcow2"},
      {"http://h/", SourceKind::Http, "http://h/", "disk.qcow2"},
      {"s3://bkt/images/web.raw", SourceKind::S3, "s3://bkt/images/web.raw", "web.qcow2"},
  };
  for (const auto& c : cases) {
    const auto s = parse_image_source(c.text);
    EXPECT_EQ(s.kind, c.kind) << c.text;
    EXPECT_EQ(s.origin(), c.origin) << c.text;
    EXPECT_EQ(source_base_name(s), c.base) << c.text;
  }
  EXPECT_EQ(error_of([] { parse_image_source("ftp://h/x"); }),
            "source 'ftp://h/x': scheme 'ftp' is not supported (a path, http://, https:// or "
            "s3://)");
  EXPECT_EQ(error_of([] { parse_image_source(""); }), "empty image source");
}

TEST(ContentRangeHeader, Table) {
  const std::vector<std::pair<std::string, std::optional<ContentRange>>> cases = {
      {"bytes 100-199/1000", ContentRange{100, 199, 1000}},
      {"bytes 0-0/1", ContentRange{0, 0, 1}},
      {"bytes 5-9/*", ContentRange{5, 9, std::nullopt}},
      {" bytes 5-9/10 ", ContentRange{5, 9, 10}},
      {"bytes 9-5/10", std::nullopt},
      {"bytes 5-9/9", std::nullopt},
      {"bytes */10", std::nullopt},
      {"items 1-2/3", std::nullopt},
      {"bytes -1-2/3", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(parse_content_range(text), want) << text;
}

TEST(Sha256Option, Normalised) {
  const std::string hex(64, 'A');
  EXPECT_EQ(normalise_sha256(hex), std::string(64, 'a'));
  EXPECT_EQ(error_of([] { normalise_sha256("abc"); }),
            "--sha256 'abc' is not 64 hexadecimal digits");
  EXPECT_EQ(error_of([] { normalise_sha256(std::string(63, '0') + "g"); }),
            "--sha256 '" + std::string(63, '0') + "g' is not 64 hexadecimal digits");
}

TEST(ProgressLine, Table) {
  constexpr std::uint64_t MiB = 1024 * 1024;
  EXPECT_EQ(format_progress(512 * MiB, 1024 * MiB, 4.0),
            "512.0 MiB / 1.0 GiB (50%)  128.0 MiB/s  ETA 0:04");
  EXPECT_EQ(format_progress(10 * MiB, std::nullopt, 2.0), "10.0 MiB  5.0 MiB/s");
  EXPECT_EQ(format_progress(0, 100, 0), "0 B / 100 B (0%)  0 B/s");
  EXPECT_EQ(format_progress(MiB, 601 * MiB, 1.0), "1.0 MiB / 601.0 MiB (0%)  1.0 MiB/s  ETA 10:00");
}

TEST(ImageRecordJson, RoundTripAndRefusals) {
  const ImageRecord r{"web",
                      "qcow2",
                      1073741824,
                      "raw",
                      1073741824,
                      std::string(64, 'e'),
                      "s3://bkt/web.raw",
                      "2026-12-06T05:00:00Z"};
  const auto text = image_record_json(r);
  EXPECT_EQ(text,
            "{\n  \"name\": \"web\",\n  \"format\": \"qcow2\",\n  \"virtual-size\": "
            "1073741824,\n  \"source-format\": \"raw\",\n  \"source-size\": 1073741824,\n"
            "  \"sha256\": \"" +
                std::string(64, 'e') +
                "\",\n  \"origin\": \"s3://bkt/web.raw\",\n  \"imported-at\": "
                "\"2026-12-06T05:00:00Z\"\n}\n");
  EXPECT_EQ(parse_image_record(text, "r"), r);
  EXPECT_EQ(error_of([] { parse_image_record("[]", "/i/.x.json"); }),
            "image record /i/.x.json: not a JSON object");
  EXPECT_EQ(error_of([] { parse_image_record(R"({"name":"x"})", "f"); }),
            "image record f: no string \"format\"");
  EXPECT_EQ(error_of([] {
              parse_image_record(R"({"name":"x","format":"qcow2","virtual-size":-1})", "f");
            }),
            "image record f: no unsigned integer \"virtual-size\"");
}

// --- ImageImporter on fakes -------------------------------------------------------

using testing::FailCounter;
using testing::FakeImageTool;
using testing::FakeStorage;

// Writes "image FORMAT SIZE" files into FakeStorage as if downloaded.
class FakeFetcher : public ImageFetcher {
 public:
  FakeFetcher(FailCounter& f, FakeStorage& s) : f_(f), s_(s) {}
  std::string content = "image raw 1048576";
  std::string sha = std::string(64, 'a');
  bool fail = false;
  std::vector<std::string> urls;
  FetchResult download(const DownloadRequest& r, const std::string& dest,
                       const TransferProgress& progress) override {
    f_.step("download");
    urls.push_back(r.url.to_string());
    s_.files[dest] = content;  // a partial file exists when the transfer breaks
    if (fail) throw Error(ErrorCode::Io, "GET " + r.url.masked() + ": connection refused");
    if (progress) progress(content.size(), content.size());
    return {content.size(), sha, 0};
  }
  FetchResult hash_file(const std::string& path, const TransferProgress&) override {
    f_.step("hash");
    return {s_.files.at(path).size(), sha, 0};
  }

 private:
  FailCounter& f_;
  FakeStorage& s_;
};

class FakeTextFiles : public TextFiles {
 public:
  FakeTextFiles(FailCounter& f, FakeStorage& s) : f_(f), s_(s) {}
  std::optional<std::string> read(const std::string& path) override {
    const auto it = s_.files.find(path);
    if (it == s_.files.end()) return std::nullopt;
    return it->second;
  }
  void write(const std::string& path, const std::string& text) override {
    f_.step("write_text");
    s_.files[path] = text;
  }

 private:
  FailCounter& f_;
  FakeStorage& s_;
};

class BackingAwareTool : public FakeImageTool {
 public:
  using FakeImageTool::FakeImageTool;
  std::string backing;
  std::string info_json(const std::string& path, const std::string& format) override {
    auto j = FakeImageTool::info_json(path, format);
    if (!backing.empty()) j.insert(j.size() - 1, ", \"backing-filename\": \"" + backing + "\"");
    return j;
  }
};

struct ImportWorld {
  FailCounter fails;
  FakeStorage storage{fails};
  BackingAwareTool tool{fails, storage};
  FakeFetcher fetcher{fails, storage};
  FakeTextFiles files{fails, storage};
  ImageImporter importer{storage, tool, fetcher, files, "/img", "/inst/.lock"};

  ImportRequest request(const std::string& name, const std::string& source) {
    ImportRequest r;
    r.name = name;
    r.source = parse_image_source(source);
    if (r.source.kind == SourceKind::Http) r.download.url = r.source.url;
    r.now = "2026-12-06T05:00:00Z";
    return r;
  }
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& [p, c] : storage.files) out.push_back(p);
    return out;
  }
};

TEST(ImageImporter, HttpRawIsConvertedAndRecorded) {
  ImportWorld w;
  std::vector<std::string> seen;
  const auto r =
      w.importer.import(w.request("deb", "https://h/deb.raw?sig=x"),
                        [&](ImportStage s, std::uint64_t d, std::optional<std::uint64_t> t) {
                          seen.push_back((s == ImportStage::Fetch ? "fetch " : "convert ") +
                                         std::to_string(d) + "/" + std::to_string(t.value_or(0)));
                        });
  EXPECT_EQ(r, (ImageRecord{"deb", "qcow2", 1048576, "raw", 17, std::string(64, 'a'),
                            "https://h/deb.raw?...", "2026-12-06T05:00:00Z"}));
  EXPECT_EQ(w.paths(), (std::vector<std::string>{"/img/.deb.json", "/img/deb"}));
  EXPECT_EQ(w.storage.files["/img/deb"], "image qcow2 1048576");
  EXPECT_EQ(w.tool.converted, std::vector<std::string>{"raw"});
  EXPECT_EQ(w.fetcher.urls, std::vector<std::string>{"https://h/deb.raw?sig=x"});
  EXPECT_EQ(seen, (std::vector<std::string>{"fetch 17/17", "convert 0/100", "convert 50/100",
                                            "convert 100/100"}));
  EXPECT_EQ(w.importer.record("deb"), r);
  EXPECT_EQ(w.importer.record("other"), std::nullopt);
  EXPECT_EQ(w.storage.locks_held, 0);
}

TEST(ImageImporter, Qcow2IsRenamedNotCopiedAndNameDefaultsFromTheUrl) {
  ImportWorld w;
  w.fetcher.content = "image qcow2 2048";
  const auto r = w.importer.import(w.request("", "http://h/x/debian-12.qcow2"), {});
  EXPECT_EQ(r.name, "debian-12.qcow2");
  EXPECT_TRUE(w.tool.converted.empty());
  EXPECT_EQ(w.paths(),
            (std::vector<std::string>{"/img/.debian-12.qcow2.json", "/img/debian-12.qcow2"}));
}

TEST(ImageImporter, LocalPathIsHashedAndConvertedInPlace) {
  ImportWorld w;
  w.storage.files["/src/a.vmdk"] = "image vmdk 4096";
  auto req = w.request("a", "/src/a.vmdk");
  req.sha256 = std::string(64, 'A');
  const auto r = w.importer.import(req, {});
  EXPECT_EQ(r.origin, "/src/a.vmdk");
  EXPECT_EQ(r.source_format, "vmdk");
  EXPECT_EQ(w.paths(), (std::vector<std::string>{"/img/.a.json", "/img/a", "/src/a.vmdk"}));
}

TEST(ImageImporter, FailuresLeaveNothing) {
  struct Case {
    std::string name;
    std::function<void(ImportWorld&, ImportRequest&)> setup;
    std::string error;
  };
  const auto pid = std::to_string(::getpid());
  const std::vector<Case> cases = {
      {"sha mismatch", [](ImportWorld&, ImportRequest& r) { r.sha256 = std::string(64, 'b'); },
       "https://h/i.raw: SHA-256 mismatch: expected " + std::string(64, 'b') + ", got " +
           std::string(64, 'a') + " (17 bytes); nothing was imported"},
      {"download breaks", [](ImportWorld& w, ImportRequest&) { w.fetcher.fail = true; },
       "GET https://h/i.raw: connection refused"},
      {"not an image", [](ImportWorld& w, ImportRequest&) { w.fetcher.content = "garbage"; },
       "not an image: /img/.i.download-" + pid},
      {"iso refused", [](ImportWorld& w, ImportRequest&) { w.fetcher.content = "image iso 10"; },
       "https://h/i.raw is a 'iso' image; cloudtwin imports raw, qcow2, vmdk, vdi and vhd (vpc)"},
      {"backing file", [](ImportWorld& w, ImportRequest&) { w.tool.backing = "/etc/shadow"; },
       "https://h/i.raw has a backing file (/etc/shadow); import a flattened image (qemu-img "
       "convert -O qcow2)"},
      {"name taken", [](ImportWorld& w, ImportRequest&) { w.storage.files["/img/i"] = "x"; },
       "an image named 'i' already exists; delete it or choose another NAME"},
      {"bad name", [](ImportWorld&, ImportRequest& r) { r.name = "../etc"; },
       "image name '../etc' must be 1-64 letters, digits, '-', '_' or '.', not starting with "
       "'.' or '-'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ImportWorld w;
    auto req = w.request("i", "https://h/i.raw");
    c.setup(w, req);
    const auto before = w.paths();
    EXPECT_EQ(error_of([&] { w.importer.import(req, {}); }), c.error);
    EXPECT_EQ(w.paths(), before);
  }
}

// Every step that can fail (download, convert, record, rename, cleanup) fails in turn.
TEST(ImageImporter, EveryStepFailingInTurnLeavesNothing) {
  int failed = 0;
  for (int n = 1; n < 20; ++n) {
    ImportWorld w;
    w.fails.fail_at = n;
    try {
      w.importer.import(w.request("i", "https://h/i.raw"), {});
    } catch (const Error&) {
      ++failed;
      EXPECT_TRUE(w.paths().empty()) << "failing call " << n << ": " << w.paths().front();
      continue;
    }
    EXPECT_EQ(w.paths(), (std::vector<std::string>{"/img/.i.json", "/img/i"}));
    break;
  }
  EXPECT_GE(failed, 4);
}

}  // namespace
}  // namespace cloudtwin::host
