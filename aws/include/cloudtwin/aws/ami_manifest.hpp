#pragma once
// The manifest of an AMI bundle as ec2-bundle-image (ec2-ami-tools, manifest version
// 2007-10-10) writes it: the image's name, size and SHA-1 digest, the AES-128-CBC key and
// IV encrypted with RSA for the user's and EC2's certificates, the parts in order with
// their SHA-1 digests, and the RSA-SHA1 signature over the <machine_configuration> and
// <image> elements as they appear in the text. Pure (Poco XML); the decryption and the
// signature check are an adapter's (OpenSSL). Not wired to `image import` yet.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::aws {

struct AmiBundlePart {
  std::size_t index = 0;
  std::string filename;  // a plain file name (no '/', not "." or "..")
  std::string sha1;      // lower-case hex
  bool operator==(const AmiBundlePart&) const = default;
};

struct AmiManifest {
  std::string version;  // "2007-10-10"
  std::string name;     // the image file inside the tarball
  std::string architecture;
  std::uint64_t size = 0;          // of the image
  std::string digest_sha1;         // of the tarball, before compression and encryption
  std::string user_encrypted_key;  // hex, RSA(key) for the user's certificate
  std::string user_encrypted_iv;
  std::string ec2_encrypted_key;  // may be empty in a bundle made only for the user
  std::string ec2_encrypted_iv;
  std::vector<AmiBundlePart> parts;  // sorted by index, 0..n-1 without gaps
  std::string signature;             // hex
  std::string signed_text;           // "<machine_configuration>...</image>" as in the file
};

// Throws Error(InvalidArgument) "manifest SOURCE: ..." naming the element that is
// missing or malformed (a part's index or file name, a digest that is not hex, parts out of
// order or missing, a DTD).
AmiManifest parse_ami_manifest(std::string_view xml, std::string_view source);

}  // namespace cloudtwin::aws
