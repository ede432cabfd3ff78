#include "ec2_answer.hpp"

namespace cloudtwin::ec2test {

std::string element(std::string_view name, std::string_view value) {
  std::string out = "<";
  out += name;
  out += '>';
  out += core::xml_escape(value);
  out += "</";
  out += name;
  out += '>';
  return out;
}

aws::HttpResponse ok(std::string_view action, std::string_view request_id, std::string_view body) {
  aws::HttpResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", "text/xml;charset=UTF-8"}};
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  r.body += action;
  r.body += "Response xmlns=\"";
  r.body += kEc2Namespace;
  r.body += "\">";
  r.body += element("requestId", request_id);
  r.body += body;
  r.body += "</";
  r.body += action;
  r.body += "Response>";
  return r;
}

aws::HttpResponse ec2_error(int status, std::string_view code, std::string_view message,
                            std::string_view request_id) {
  aws::HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "text/xml;charset=UTF-8"}};
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>" +
           element("Code", code) + element("Message", message) + "</Error></Errors>" +
           element("RequestID", request_id) + "</Response>";
  return r;
}

std::string instance_item(const aws::Instance& i) {
  std::string out = "<item>";
  out += element("instanceId", i.instance_id);
  out += element("imageId", i.image_id);
  out += "<instanceState>" + element("code", std::to_string(i.state_code)) +
         element("name", i.state) + "</instanceState>";
  out +=
      element("privateDnsName", i.private_ip.empty() ? "" : "ip-" + i.private_ip + ".ec2.internal");
  out += element("dnsName", "");
  if (!i.key_name.empty()) out += element("keyName", i.key_name);
  out += element("amiLaunchIndex", "0");
  out += element("instanceType", i.instance_type);
  out += element("launchTime", i.launch_time);
  out += "<placement>" + element("availabilityZone", i.availability_zone) +
         element("groupName", "") + element("tenancy", "default") + "</placement>";
  out += "<monitoring>" + element("state", "disabled") + "</monitoring>";
  out += element("subnetId", i.subnet_id);
  out += element("vpcId", i.vpc_id);
  out += element("privateIpAddress", i.private_ip);
  if (!i.public_ip.empty()) out += element("ipAddress", i.public_ip);
  out += "<groupSet>";
  for (const auto& g : i.security_group_ids) {
    out += "<item>" + element("groupId", g) + element("groupName", g) + "</item>";
  }
  out += "</groupSet>";
  if (!i.state_reason.empty()) {
    out += "<stateReason>" + element("code", i.state_reason) + element("message", i.state_reason) +
           "</stateReason>";
  }
  out += element("architecture", "x86_64");
  out += element("rootDeviceType", "ebs");
  out += element("rootDeviceName", "/dev/xvda");
  out += element("virtualizationType", "hvm");
  out += element("clientToken", i.client_token);
  if (!i.tags.empty()) {
    out += "<tagSet>";
    for (const auto& t : i.tags)
      out += "<item>" + element("key", t.key) + element("value", t.value) + "</item>";
    out += "</tagSet>";
  }
  out += element("hypervisor", "xen");
  out += "</item>";
  return out;
}

std::string state_change_item(std::string_view id, std::string_view previous, int previous_code,
                              std::string_view current, int current_code) {
  return "<item>" + element("instanceId", id) + "<currentState>" +
         element("code", std::to_string(current_code)) + element("name", current) +
         "</currentState><previousState>" + element("code", std::to_string(previous_code)) +
         element("name", previous) + "</previousState></item>";
}

}  // namespace cloudtwin::ec2test
