#include "cloudtwin/host/ec2_user_data.hpp"

#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartWriter.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::host {
namespace {

// The content type cloud-init dispatches on, for a part given without one.
std::string content_type_of(const core::UserDataPart& part) {
  if (!part.content_type.empty()) return part.content_type;
  switch (part.kind) {
    case core::UserDataKind::Script:
      return "text/x-shellscript";
    case core::UserDataKind::CloudConfig:
      return "text/cloud-config";
    case core::UserDataKind::Include:
      return "text/x-include-url";
    case core::UserDataKind::Boothook:
      return "text/cloud-boothook";
    case core::UserDataKind::PartHandler:
      return "text/part-handler";
    default:
      return "text/plain";
  }
}

void add_part(Poco::Net::MultipartWriter& writer, std::ostream& out, const std::string& type,
              const std::string& filename, const std::string& body) {
  Poco::Net::MessageHeader header;
  header.set("Content-Type", type + "; charset=\"utf-8\"");
  header.set("MIME-Version", "1.0");
  header.set("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  writer.nextPart(header);
  out << body;
  if (!body.empty() && body.back() != '\n') out << "\n";
}

}  // namespace

std::string ec2_cloud_config(const Ec2UserDataInput& in) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  if (!in.hostname.empty()) {
    y << YAML::Key << "hostname" << YAML::Value << in.hostname;
    y << YAML::Key << "preserve_hostname" << YAML::Value << false;
  }
  if (!in.ssh_keys.empty()) {
    y << YAML::Key << "ssh_authorized_keys" << YAML::Value << YAML::BeginSeq;
    for (const auto& k : in.ssh_keys) y << YAML::DoubleQuoted << k;
    y << YAML::EndSeq;
  }
  y << YAML::EndMap;
  return std::string("#cloud-config\n") + y.c_str() + "\n";
}

std::string ec2_user_data(const Ec2UserDataInput& in) {
  std::vector<core::UserDataPart> user;
  if (in.user_data && !in.user_data->empty()) {
    auto decoded = core::decode_user_data(*in.user_data);
    const auto kind = core::classify_user_data(decoded);
    if (kind == core::UserDataKind::Multipart)
      user = core::split_mime_user_data(decoded, {});  // flattened into ours
    else
      user.push_back({kind, "", "", std::move(decoded)});
  }

  std::ostringstream out;
  Poco::Net::MessageHeader top;
  top.set("Content-Type", "multipart/mixed; boundary=\"" + in.boundary + "\"");
  top.set("MIME-Version", "1.0");
  top.write(out);
  out << "\r\n";
  {
    Poco::Net::MultipartWriter writer(out, in.boundary);
    add_part(writer, out, "text/cloud-config", "cloudtwin.cfg", ec2_cloud_config(in));
    int n = 0;
    for (const auto& part : user) {
      if (part.kind == core::UserDataKind::Empty) continue;
      ++n;
      add_part(writer, out, content_type_of(part), "user-data-" + std::to_string(n), part.content);
    }
    if (!in.vpn_profile.empty())
      add_part(writer, out, "application/x-openvpn-profile", "vpn.ovpn", in.vpn_profile);
    writer.close();
  }
  auto text = out.str();
  if (text.size() <= kEc2UserDataLimit) return text;
  auto packed = core::gzip(text);
  if (packed.size() > kEc2UserDataLimit) {
    throw Error(ErrorCode::UserDataTooLarge,
                "the EC2 user-data (cloud-config, USER_DATA and VPN profile) is " +
                    std::to_string(text.size()) + " bytes, " + std::to_string(packed.size()) +
                    " gzipped: more than EC2's " + std::to_string(kEc2UserDataLimit) +
                    "; shorten USER_DATA (e.g. #include a URL)");
  }
  return packed;
}

}  // namespace cloudtwin::host
