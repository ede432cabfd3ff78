#include "cloudtwin/core/user_data.hpp"

#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "encoding_detail.hpp"

namespace cloudtwin::core {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

// ---- helpers --------------------------------------------------------------------------------

struct Thrown {
  ErrorCode code;
  std::string message;
};

template <class F>
Thrown thrown_by(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  ADD_FAILURE() << "expected cloudtwin::Error, nothing was thrown";
  return {ErrorCode::System, ""};
}

struct ExpectedPart {
  UserDataKind kind;
  std::string content_type;
  std::string filename;
  std::string content;
};

void expect_parts(const std::vector<UserDataPart>& got, const std::vector<ExpectedPart>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("part " + std::to_string(i + 1));
    EXPECT_EQ(to_string(got[i].kind), std::string(to_string(want[i].kind)));
    EXPECT_EQ(got[i].content_type, want[i].content_type);
    EXPECT_EQ(got[i].filename, want[i].filename);
    EXPECT_EQ(got[i].content, want[i].content);
  }
}

// ---- classify -------------------------------------------------------------------------------

struct ClassifyCase {
  std::string_view input;
  UserDataKind kind;
};

TEST(ClassifyUserData, FirstLineLikeCloudInit) {
  const ClassifyCase cases[] = {
      {"", UserDataKind::Empty},
      {" \n\t\r\n", UserDataKind::Empty},
      {"#!/bin/sh\necho hi\n", UserDataKind::Script},
      {"#!", UserDataKind::Script},
      {"  \n\t#!/bin/bash\n", UserDataKind::Script},  // cloud-init lstrips before matching
      {"#cloud-config\nhostname: a\n", UserDataKind::CloudConfig},
      {"#Cloud-Config\n", UserDataKind::CloudConfig},   // case-insensitive
      {"#cloud-configX\n", UserDataKind::CloudConfig},  // a prefix match, as in cloud-init
      {"\n#cloud-config\n", UserDataKind::CloudConfig},
      {"#include\nhttp://example.com/ud\n", UserDataKind::Include},
      {"#include-once\nhttp://example.com/ud\n", UserDataKind::Include},
      {"#INCLUDE https://x\n", UserDataKind::Include},
      {"#cloud-boothook\necho early\n", UserDataKind::Boothook},
      {"#part-handler\ndef list_types(): pass\n", UserDataKind::PartHandler},
      {"Content-Type: multipart/mixed; boundary=\"b\"\nMIME-Version: 1.0\n\n--b--\n",
       UserDataKind::Multipart},
      {"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nx", UserDataKind::Multipart},
      {"X-Other: 1\n  folded\nmime-version: 1.0\n\n", UserDataKind::Multipart},
      {"content-type: text/x-shellscript\n\n#!/bin/sh\n", UserDataKind::Multipart},
      {"#cloud-config-archive\n- type: text/x-shellscript\n", UserDataKind::Unknown},
      {"#cloud-config-jsonp\n[]\n", UserDataKind::Unknown},
      {"## template: jinja\n#cloud-config\n", UserDataKind::Unknown},
      {"# just a comment\n", UserDataKind::Unknown},
      {"echo hi\n", UserDataKind::Unknown},
      {"! #!/bin/sh\n", UserDataKind::Unknown},
      {"hello\nMIME-Version: 1.0\n\n", UserDataKind::Unknown},  // not a header block
      {"\nMIME-Version: 1.0\n\n", UserDataKind::Unknown},       // blank line first: no headers
      {" MIME-Version: 1.0\n\n", UserDataKind::Unknown},        // continuation line first
      {"Subject: hi\n\nMIME-Version: 1.0\n", UserDataKind::Unknown},  // header only in the body
      {"\x1f\x8b\x08\x00", UserDataKind::Unknown},                    // gzip is decoded first
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_string(classify_user_data(c.input)), std::string(to_string(c.kind)))
        << "input: " << c.input;
  }
}

TEST(ClassifyUserData, KindNames) {
  const std::pair<UserDataKind, std::string_view> cases[] = {
      {UserDataKind::Empty, "empty"},
      {UserDataKind::Script, "script"},
      {UserDataKind::CloudConfig, "cloud-config"},
      {UserDataKind::Include, "include"},
      {UserDataKind::Boothook, "boothook"},
      {UserDataKind::PartHandler, "part-handler"},
      {UserDataKind::Multipart, "multipart"},
      {UserDataKind::Unknown, "unknown"},
  };
  for (const auto& [kind, name] : cases) EXPECT_EQ(std::string_view(to_string(kind)), name);
}

// ---- base64 ---------------------------------------------------------------------------------

TEST(Base64, EncodeDecode) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foobar", "Zm9vYmFy"},
      {"#cloud-config\nhostname: b64\n", "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYjY0Cg=="},
      {"\x00\xff\xfe\x01"s, "AP/+AQ=="},
      {std::string(100, 'a'),
       "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWF"
       "hYWFhYWFh"
       "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ=="},
  };
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(base64_encode(bytes), text);
    EXPECT_EQ(base64_decode(text), bytes);
  }
}

TEST(Base64, DecodeAcceptsWhitespaceAndMissingPadding) {
  const std::pair<std::string_view, std::string> cases[] = {
      {"Zm9v\nYmFy\n", "foobar"},
      {"  Zm9v\r\n\tYmE=\r\n", "fooba"},
      {"Zg", "f"},
      {"Zm8", "fo"},
      {"Zg==\n", "f"},
      {" \n ", ""},
  };
  for (const auto& [text, bytes] : cases) EXPECT_EQ(base64_decode(text), bytes) << text;
}

TEST(Base64, BadInputNamesTheOffset) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"QUJD!", "base64: invalid character '!' (0x21) at byte offset 4"},
      {"QU-D",
       "base64: invalid character '-' (0x2d) at byte offset 2"},  // URL alphabet is not accepted
      {"Q\xff", "base64: invalid character 0xff at byte offset 1"},
      {"QUJD\nQU\x00"sv, "base64: invalid character 0x00 at byte offset 7"},
      {"QUJDR",
       "base64: truncated input: a lone final character cannot encode a byte at byte offset 4"},
      {"QQ=", "base64: wrong '=' padding: 1 after 2 characters of the last group at byte offset 2"},
      {"QUJD=",
       "base64: wrong '=' padding: 1 after 0 characters of the last group at byte offset 4"},
      {"QQ===", "base64: too much '=' padding at byte offset 4"},
      {"QQ==QQ==", "base64: data after '=' padding at byte offset 4"},
  };
  for (const auto& c : cases) {
    const Thrown t = thrown_by([&] { base64_decode(c.first); });
    EXPECT_EQ(t.code, ErrorCode::UserDataBadBase64) << c.first;
    EXPECT_EQ(t.message, c.second);
  }
}

// ---- gzip -----------------------------------------------------------------------------------

TEST(Gzip, RoundTrip) {
  const std::string cases[] = {
      "",
      "#!/bin/sh\necho hi\n",
      "\x00\x01\x02\xff binary\x00"s,
      std::string(200 * 1024, 'x'),
  };
  for (const auto& data : cases) {
    const std::string packed = gzip(data);
    EXPECT_TRUE(looks_gzip(packed));
    EXPECT_EQ(gunzip(packed, data.size()), data);
  }
}

TEST(Gzip, ReadsPythonGzip) {
  // python3: base64.b64encode(gzip.compress(b"#!/bin/sh\necho zipped\n", mtime=0))
  EXPECT_EQ(gunzip(base64_decode("H4sIAAAAAAACA1NW1E/KzNMvzuBKTc7IV6jKLChITeECABjsrNUWAAAA"), 1024),
            "#!/bin/sh\necho zipped\n");
}

TEST(Gzip, LooksGzip) {
  const std::pair<std::string, bool> cases[] = {
      {"", false},         {"\x1f", false}, {"\x1f\x8b", true}, {"\x1f\x8b\x08", true},
      {"\x8b\x1f", false}, {"#!", false},
  };
  for (const auto& [data, want] : cases) EXPECT_EQ(looks_gzip(data), want);
}

TEST(Gzip, CorruptInput) {
  const std::string good = gzip("#!/bin/sh\necho hi\n");
  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 6] = static_cast<char>(bad_crc[bad_crc.size() - 6] ^ 0x55);
  const std::string cases[] = {
      "\x1f\x8bnot deflate at all",
      good.substr(0, good.size() / 2),  // truncated
      bad_crc,
  };
  for (const auto& data : cases) {
    const Thrown t = thrown_by([&] { gunzip(data, 1024); });
    EXPECT_EQ(t.code, ErrorCode::UserDataBadGzip);
    EXPECT_EQ(t.message.rfind("gzip: corrupt data (", 0), 0u) << t.message;
  }
}

TEST(Gzip, BombStopsAtTheLimit) {
  const std::string bomb = gzip(std::string(16 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 64u * 1024);
  const Thrown t = thrown_by([&] { gunzip(bomb, 1024 * 1024); });
  EXPECT_EQ(t.code, ErrorCode::UserDataTooLarge);
  EXPECT_EQ(t.message,
            "gunzipped user-data is more than 1048576 bytes, over the limit "
            "(UserDataLimits::max_decoded)");
}

TEST(Gzip, LimitIsInclusive) {
  const std::string packed = gzip(std::string(1000, 'a'));
  EXPECT_EQ(gunzip(packed, 1000).size(), 1000u);
  EXPECT_EQ(gunzip(packed, SIZE_MAX).size(), 1000u);  // "no limit" must not wrap around
  EXPECT_EQ(thrown_by([&] { gunzip(packed, 999); }).code, ErrorCode::UserDataTooLarge);
}

// zlib's allocator fails at its Nth call: zlib's own failure is a cloudtwin::Error that
// names the call and the cause (it was std::bad_alloc, which says neither).
struct FailingAllocator {
  int calls = 0;
  int fail_at = 0;
  static void* alloc(void* self, unsigned items, unsigned size) {
    auto* a = static_cast<FailingAllocator*>(self);
    return ++a->calls == a->fail_at ? nullptr : std::calloc(items, size);
  }
  static void release(void* /*self*/, void* address) { std::free(address); }
  detail::ZlibAllocator zlib() { return {&alloc, &release, this}; }
};

TEST(Gzip, ZlibFailuresAreErrorsNamingTheCause) {
  // More than one 16 KiB chunk of output: inflate then keeps a window (its 2nd allocation).
  const std::string packed = gzip(std::string(100000, 'a'));
  const std::string zlib = std::string(", zlib ") + zlibVersion() + ")";
  struct Case {
    bool inflating;
    int fail_at;
    std::string want;
  };
  const std::vector<Case> cases{
      {true, 1, "gunzip: zlib's inflateInit2 failed (out of memory" + zlib},
      {true, 2, "gunzip: zlib's inflate failed (out of memory" + zlib},  // the window
      {false, 1, "gzip: zlib's deflateInit2 failed (out of memory" + zlib},
      {false, 3, "gzip: zlib's deflateInit2 failed (out of memory" + zlib},
  };
  for (const auto& c : cases) {
    FailingAllocator a;
    a.fail_at = c.fail_at;
    const Thrown t = thrown_by([&] {
      if (c.inflating)
        detail::gunzip(packed, 100000, a.zlib());
      else
        detail::gzip("data", a.zlib());
    });
    EXPECT_EQ(t.code, ErrorCode::System) << c.want;
    EXPECT_EQ(t.message, c.want);
  }
  FailingAllocator never;  // the seam itself changes nothing when nothing fails
  EXPECT_EQ(detail::gunzip(detail::gzip("data", never.zlib()), 4, never.zlib()), "data");
}

// ---- decode_user_data -----------------------------------------------------------------------

struct DecodeCase {
  std::string name;
  std::string raw;
  UserDataEncoding encoding;
  std::string want;
};

TEST(DecodeUserData, Table) {
  const DecodeCase cases[] = {
      {"plain script", "#!/bin/sh\necho hi\n", UserDataEncoding::Auto, "#!/bin/sh\necho hi\n"},
      {"auto base64 cloud-config", "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYjY0Cg==",
       UserDataEncoding::Auto, "#cloud-config\nhostname: b64\n"},
      {"auto base64 with line breaks", "I2Nsb3VkLWNvbmZp\nZwpob3N0bmFtZTogYjY0\nCg==\n",
       UserDataEncoding::Auto, "#cloud-config\nhostname: b64\n"},
      {"auto base64 gzip", "H4sIAAAAAAACA1NW1E/KzNMvzuBKTc7IV6jKLChITeECABjsrNUWAAAA",
       UserDataEncoding::Auto, "#!/bin/sh\necho zipped\n"},
      {"auto base64 MIME", base64_encode("Content-Type: text/plain\n\n#!/bin/sh\n"),
       UserDataEncoding::Auto, "Content-Type: text/plain\n\n#!/bin/sh\n"},
      {"auto base64 MIME-Version", base64_encode("mime-version: 1.0\n"), UserDataEncoding::Auto,
       "mime-version: 1.0\n"},
      {"valid base64 but plain word stays raw", "echo", UserDataEncoding::Auto, "echo"},
      {"base64 of non-user-data stays raw", "aGVsbG8=", UserDataEncoding::Auto, "aGVsbG8="},
      {"not base64 stays raw", "hostname: a\n", UserDataEncoding::Auto, "hostname: a\n"},
      {"empty", "", UserDataEncoding::Auto, ""},
      {"whitespace only", " \n", UserDataEncoding::Auto, " \n"},
      {"none keeps base64 text", "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYjY0Cg==", UserDataEncoding::None,
       "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYjY0Cg=="},
      {"explicit base64 of anything", "aGVsbG8=", UserDataEncoding::Base64, "hello"},
      {"raw gzip", gzip("#cloud-config\n"), UserDataEncoding::Auto, "#cloud-config\n"},
      {"raw gzip with None", gzip("#cloud-config\n"), UserDataEncoding::None, "#cloud-config\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(decode_user_data(c.raw, c.encoding), c.want);
  }
}

struct DecodeErrorCase {
  std::string name;
  std::string raw;
  UserDataEncoding encoding;
  UserDataLimits limits;
  ErrorCode code;
  std::string message;
};

TEST(DecodeUserData, Errors) {
  UserDataLimits small;
  small.max_input = 16;
  small.max_decoded = 8;
  const DecodeErrorCase cases[] = {
      {"input over max_input",
       std::string(65537, 'a'),
       UserDataEncoding::None,
       {},
       ErrorCode::UserDataTooLarge,
       "user-data is 65537 bytes, over the limit of 65536 bytes (UserDataLimits::max_input); gzip "
       "it or move "
       "content behind an #include URL"},
      {"decoded over max_decoded", "#!/bin/sh\necho\n", UserDataEncoding::None, small,
       ErrorCode::UserDataTooLarge,
       "decoded user-data is 15 bytes, over the limit of 8 bytes (UserDataLimits::max_decoded); "
       "gzip it or move "
       "content behind an #include URL"},
      {"gunzipped over max_decoded", gzip(std::string(100, 'x')), UserDataEncoding::None,
       UserDataLimits{64, 50, 4, 4}, ErrorCode::UserDataTooLarge,
       "user-data: gunzipped user-data is more than 50 bytes, over the limit "
       "(UserDataLimits::max_decoded)"},
      {"explicit base64, bad byte",
       "I2Nsb3VkL#",
       UserDataEncoding::Base64,
       {},
       ErrorCode::UserDataBadBase64,
       "user-data: base64: invalid character '#' (0x23) at byte offset 9"},
      {"corrupt gzip",
       "\x1f\x8b garbage",
       UserDataEncoding::Auto,
       {},
       ErrorCode::UserDataBadGzip,
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Thrown t = thrown_by([&] { decode_user_data(c.raw, c.encoding, c.limits); });
    EXPECT_EQ(t.code, c.code);
    if (!c.message.empty()) {
      EXPECT_EQ(t.message, c.message);
    }
  }
}

// ---- split / parse --------------------------------------------------------------------------

// The fixtures were written with Python's email package (MIMEMultipart) and then trimmed.
constexpr std::string_view kShellAndCloudConfig =
    "Content-Type: multipart/mixed; boundary=\"===============5018263279==\"\n"
    "MIME-Version: 1.0\n"
    "\n"
    "--===============5018263279==\n"
    "Content-Type: text/x-shellscript; charset=\"us-ascii\"\n"
    "MIME-Version: 1.0\n"
    "Content-Transfer-Encoding: 7bit\n"
    "Content-Disposition: attachment; filename=\"setup.sh\"\n"
    "\n"
    "#!/bin/sh\n"
    "echo hi\n"
    "\n"
    "--===============5018263279==\n"
    "Content-Type: text/cloud-config; charset=\"us-ascii\"\n"
    "MIME-Version: 1.0\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "#cloud-config\n"
    "hostname: twin\n"
    "\n"
    "--===============5018263279==--\n";

constexpr std::string_view kEncodedParts =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=XYZ\r\n"
    "\r\n"
    "This is the preamble.\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=\"utf-8\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTog\r\n"
    "YjY0Cg==\r\n"
    "--XYZ\r\n"
    "Content-Type: application/gzip\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"cfg.gz\"\r\n"
    "\r\n"
    "H4sIAAAAAAACA1NOzskvTdFNzs9Ly0znysgvLslLzE21Ukiv4gIAadGHBRsAAAA=\r\n"
    "--XYZ\r\n"
    "Content-Type: text/x-shellscript\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "#!/bin/sh\r\n"
    "echo caf=C3=A9 =3D ok\r\n"
    "echo long=\r\n"
    "line\r\n"
    "--XYZ--\r\n"
    "epilogue\r\n";

constexpr std::string_view kNested =
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "Content-Type: text/cloud-boothook\n"
    "\n"
    "#cloud-boothook\n"
    "echo early\n"
    "--inner\n"
    "Content-Type: text/part-handler\n"
    "Content-Disposition: attachment; filename=handler.py\n"
    "\n"
    "#part-handler\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: text/x-include-url\n"
    "\n"
    "http://example.com/more\n"
    "--outer\n"
    "Content-Type: text/x-shellscript-per-boot\n"
    "\n"
    "#!/bin/sh\n"
    "date\n"
    "--outer--\n";

constexpr std::string_view kOddTypes =
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/x-shellscript\n"
    "\n"
    "#cloud-config\n"
    "--b\n"
    "Content-Type: application/x-foo; name=\"foo.bin\"\n"
    "\n"
    "#!/bin/sh\n"
    "--b\n"
    "\n"
    "#include-once\n"
    "--b\n"
    "Content-Type: TEXT/Cloud-Config; charset=us-ascii\n"
    "\n"
    "#cloud-config\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "plain words\n"
    "--b\n"
    "Content-Type: garbage\n"
    "\n"
    "#!/bin/sh\n"
    "--b--\n";

struct SplitCase {
  std::string name;
  std::string_view input;
  std::vector<ExpectedPart> parts;
};

TEST(SplitUserData, Table) {
  const SplitCase cases[] = {
      {"not MIME: one part",
       "#!/bin/sh\necho hi\n",
       {{UserDataKind::Script, "text/x-shellscript", "part-001", "#!/bin/sh\necho hi\n"}}},
      {"not MIME: cloud-config",
       "#cloud-config\n",
       {{UserDataKind::CloudConfig, "text/cloud-config", "part-001", "#cloud-config\n"}}},
      {"not MIME: include-once",
       "#include-once\nhttp://x\n",
       {{UserDataKind::Include, "text/x-include-once-url", "part-001",
         "#include-once\nhttp://x\n"}}},
      {"not MIME: empty", "", {{UserDataKind::Empty, "text/plain", "part-001", ""}}},
      {"not MIME: unknown",
       "hello\n",
       {{UserDataKind::Unknown, "text/plain", "part-001", "hello\n"}}},
      {"shell + cloud-config",
       kShellAndCloudConfig,
       {{UserDataKind::Script, "text/x-shellscript", "setup.sh", "#!/bin/sh\necho hi\n"},
        {UserDataKind::CloudConfig, "text/cloud-config", "part-002",
         "#cloud-config\nhostname: twin\n"}}},
      {"base64, gzip and quoted-printable parts",
       kEncodedParts,
       {{UserDataKind::CloudConfig, "text/cloud-config", "part-001",
         "#cloud-config\nhostname: b64\n"},
        {UserDataKind::CloudConfig, "text/cloud-config", "cfg.gz", "#cloud-config\nhostname: gz\n"},
        {UserDataKind::Script, "text/x-shellscript", "part-003",
         "#!/bin/sh\r\necho caf\xc3\xa9 = ok\r\necho longline"}}},
      {"nested multipart is flattened",
       kNested,
       {{UserDataKind::Boothook, "text/cloud-boothook", "part-001", "#cloud-boothook\necho early"},
        {UserDataKind::PartHandler, "text/part-handler", "handler.py", "#part-handler"},
        {UserDataKind::Include, "text/x-include-url", "part-003", "http://example.com/more"},
        {UserDataKind::Script, "text/x-shellscript-per-boot", "part-004", "#!/bin/sh\ndate"}}},
      {"content types as cloud-init resolves them",
       kOddTypes,
       {{UserDataKind::CloudConfig, "text/cloud-config", "part-001", "#cloud-config"},
        {UserDataKind::Unknown, "application/x-foo", "foo.bin", "#!/bin/sh"},
        {UserDataKind::Include, "text/x-include-once-url", "part-003", "#include-once"},
        {UserDataKind::CloudConfig, "text/cloud-config", "part-004", "#cloud-config"},
        {UserDataKind::Unknown, "text/plain", "part-005", "plain words"},
        {UserDataKind::Script, "text/x-shellscript", "part-006", "#!/bin/sh"}}},
      {"single MIME entity",
       "Content-Type: text/x-shellscript\nMIME-Version: 1.0\n\n#!/bin/bash\nx\n",
       {{UserDataKind::Script, "text/x-shellscript", "part-001", "#!/bin/bash\nx\n"}}},
      {"empty part with the blank line RFC 2046 wants",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
       "text/plain\n\n\n--b\n\n#!/bin/sh\n--b--\n",
       {{UserDataKind::Unknown, "text/plain", "part-001", ""},
        {UserDataKind::Script, "text/x-shellscript", "part-002", "#!/bin/sh"}}},
      {"closing boundary may end the input",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n#!/bin/sh\n--b--",
       {{UserDataKind::Script, "text/x-shellscript", "part-001", "#!/bin/sh"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_parts(split_user_data(c.input), c.parts);
  }
}

struct SplitErrorCase {
  std::string name;
  std::string input;
  UserDataLimits limits;
  ErrorCode code;
  std::string message;
};

TEST(SplitUserData, Errors) {
  UserDataLimits two_parts;
  two_parts.max_parts = 2;
  UserDataLimits flat;
  flat.max_depth = 1;
  UserDataLimits tiny;
  tiny.max_decoded = 40;
  const SplitErrorCase cases[] = {
      {"no boundary parameter",
       "Content-Type: multipart/mixed\n\n--b\n\n#!/bin/sh\n--b--\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME message: multipart/mixed has no boundary parameter"},
      {"boundary never appears",
       "Content-Type: multipart/mixed; boundary=zzz\n\n--b\n\n#!/bin/sh\n--b--\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME part 1: Malformed multipart message: No boundary line found (boundary "
       "\"zzz\")"},
      {"boundary too long",
       "Content-Type: multipart/mixed; boundary=" + std::string(71, 'b') + "\n\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME message: multipart/mixed boundary is 71 characters; RFC 2046 allows at "
       "most 70"},
      {"nested multipart without boundary",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
       "multipart/related\n\nx\n--b--\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME part 1: multipart/related has no boundary parameter"},
      {"too many parts", std::string(kNested), two_parts, ErrorCode::UserDataTooLarge,
       "user-data: MIME part 1.2: more than 2 MIME parts (UserDataLimits::max_parts)"},
      {"too deep", std::string(kNested), flat, ErrorCode::UserDataTooLarge,
       "user-data: MIME part 1: multipart nested 2 levels deep, over the limit of 1 "
       "(UserDataLimits::max_depth)"},
      {"bad base64 part",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: "
       "base64\n\nI2Nsb3V*\n--b--\n",
       {},
       ErrorCode::UserDataBadBase64,
       "user-data: MIME part 1: Content-Transfer-Encoding base64: base64: invalid character '*' "
       "(0x2a) at byte "
       "offset 7"},
      {"bad gzip part",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
       "application/gzip\n\n\x1f\x8bjunk\n--b--\n",
       {},
       ErrorCode::UserDataBadGzip,
       ""},
      {"gzip part over the limit",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\n" +
           base64_encode(gzip(std::string(2000, 'x'))) + "\n--b--\n",
       UserDataLimits{1024, 1024, 4, 4}, ErrorCode::UserDataTooLarge,
       "user-data: MIME part 1: gunzipped, the parts so far are more than 1024 bytes, over the "
       "limit "
       "(UserDataLimits::max_decoded)"},
      {"decoded input over the limit", std::string(kShellAndCloudConfig), tiny,
       ErrorCode::UserDataTooLarge, ""},
      {"empty part swallowing the next boundary",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
       "text/plain\n\n--b\n\n#!/bin/sh\n--b--\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME part 1: boundary line right after the part headers; an empty part needs a "
       "blank line "
       "before the next boundary (RFC 2046) (boundary \"b\")"},
      {"missing closing boundary",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n#!/bin/sh\necho\n",
       {},
       ErrorCode::UserDataBadMime,
       "user-data: MIME part 1: input ends before the closing boundary \"--b--\"; is the user-data "
       "truncated? "
       "(boundary \"b\")"},
      {"truncated after a boundary line",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n#!/bin/sh\n--b\n",
       {},
       ErrorCode::UserDataBadMime,
       ""},
      {"only a closing line",
       "Content-Type: multipart/mixed; boundary=b\n\n--b--\n",
       {},
       ErrorCode::UserDataBadMime,
       ""},
      {"header without colon at end of input",
       "Content-Type: multipart/mixed; boundary=b\n\n--b\nnocolon",
       {},
       ErrorCode::UserDataBadMime,
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Thrown t = thrown_by([&] { split_user_data(c.input, c.limits); });
    EXPECT_EQ(t.code, c.code) << t.message;
    if (!c.message.empty()) {
      EXPECT_EQ(t.message, c.message);
    }
  }
}

TEST(SplitUserData, GzipBudgetIsSharedByAllParts) {
  // Each part gunzips to 600 bytes, under max_decoded alone, over it together.
  const std::string part = "--b\nContent-Transfer-Encoding: base64\n\n" +
                           base64_encode(gzip(std::string(600, 'a'))) + "\n";
  const std::string input =
      "Content-Type: multipart/mixed; boundary=b\n\n" + part + part + "--b--\n";
  UserDataLimits limits;
  limits.max_decoded = 1200;
  EXPECT_EQ(split_user_data(input, limits).size(), 2u);
  limits.max_decoded = 1199;
  const Thrown t = thrown_by([&] { split_user_data(input, limits); });
  EXPECT_EQ(t.code, ErrorCode::UserDataTooLarge);
  EXPECT_EQ(t.message,
            "user-data: MIME part 2: gunzipped, the parts so far are more than 1199 bytes, over "
            "the limit "
            "(UserDataLimits::max_decoded)");
}

TEST(ParseUserData, EndToEnd) {
  // Base64 of gzip of a MIME message: what an EC2 launch template with compressed user-data holds.
  const std::string raw = base64_encode(gzip(kShellAndCloudConfig));
  expect_parts(parse_user_data(raw),
               {{UserDataKind::Script, "text/x-shellscript", "setup.sh", "#!/bin/sh\necho hi\n"},
                {UserDataKind::CloudConfig, "text/cloud-config", "part-002",
                 "#cloud-config\nhostname: twin\n"}});
  expect_parts(parse_user_data("#cloud-config\n", UserDataEncoding::None),
               {{UserDataKind::CloudConfig, "text/cloud-config", "part-001", "#cloud-config\n"}});
}

}  // namespace
}  // namespace cloudtwin::core
