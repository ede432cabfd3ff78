// The actions of the test endpoint: what EC2 does with each call, in memory.
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cloudtwin/core/user_data.hpp"
#include "ec2_answer.hpp"
#include "service_state.hpp"

namespace cloudtwin::ec2test {

namespace {

constexpr int kPending = 0, kRunning = 16, kShuttingDown = 32, kTerminated = 48, kStopping = 64,
              kStopped = 80;

void set_state(aws::Instance& i, const char* name, int code) {
  i.state = name;
  i.state_code = code;
}

int to_int(const std::string& s, const std::string& name) {
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw ApiError(400, "InvalidParameterValue",
                   "Value (" + s + ") for parameter " + name + " is invalid. Expected an integer.");
  }
  return value;
}

bool active(const aws::Instance& i) {
  return i.state != "terminated" && i.state != "shutting-down";
}

}  // namespace

std::string Ec2Service::State::new_id(const std::string& prefix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%017llx", 0xc10d000000000ULL + ++id_counter);
  return prefix + "-" + buf;
}

Query::Query(const aws::Params& params) {
  for (const auto& [name, value] : params) values_[name] = value;
}

std::string Query::get(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

bool Query::has(const std::string& name) const { return values_.count(name) != 0; }

std::string Query::required(const std::string& name) const {
  if (!has(name) || get(name).empty()) {
    throw ApiError(400, "MissingParameter", "The request must contain the parameter " + name);
  }
  return get(name);
}

std::vector<std::string> Query::list(const std::string& prefix) const {
  std::vector<std::string> out;
  for (int n = 1; has(prefix + "." + std::to_string(n)); ++n)
    out.push_back(get(prefix + "." + std::to_string(n)));
  return out;
}

namespace {

using State = Ec2Service::State;

// Moves an instance on through its transitional states as describes see it.
void advance(LaunchedInstance& li, int pending_describes) {
  auto& i = li.instance;
  const bool transitional =
      i.state == "pending" || i.state == "stopping" || i.state == "shutting-down";
  if (!transitional) return;
  if (li.describes++ < pending_describes) return;
  li.describes = 0;
  if (i.state == "pending") {
    set_state(i, "running", kRunning);
    i.state_reason.clear();
  } else if (i.state == "stopping") {
    set_state(i, "stopped", kStopped);
  } else {
    set_state(i, "terminated", kTerminated);
    i.public_ip.clear();
  }
}

LaunchedInstance& find_instance(State& s, const std::string& id) {
  const auto it = s.instances.find(id);
  if (it == s.instances.end()) {
    throw ApiError(
        400, id.rfind("i-", 0) == 0 ? "InvalidInstanceID.NotFound" : "InvalidInstanceID.Malformed",
        "The instance ID '" + id + "' does not exist");
  }
  return it->second;
}

std::string reservation_xml(const State& s, const std::string& owner,
                            const std::vector<const LaunchedInstance*>& list) {
  std::string out = element("reservationId", list.front()->reservation_id) +
                    element("ownerId", owner) + "<groupSet/><instancesSet>";
  for (const auto* li : list) out += instance_item(li->instance);
  (void)s;
  return out + "</instancesSet>";
}

bool matches(const LaunchedInstance& li, const std::string& name,
             const std::vector<std::string>& values) {
  const auto& i = li.instance;
  std::string actual;
  if (name == "client-token")
    actual = i.client_token;
  else if (name == "instance-state-name")
    actual = i.state;
  else if (name == "instance-id")
    actual = i.instance_id;
  else if (name == "image-id")
    actual = i.image_id;
  else if (name == "instance-type")
    actual = i.instance_type;
  else if (name.rfind("tag:", 0) == 0) {
    for (const auto& t : i.tags) {
      if (t.key == name.substr(4)) actual = t.value;
    }
  } else {
    throw ApiError(400, "InvalidParameterValue", "The filter '" + name + "' is invalid");
  }
  return std::find(values.begin(), values.end(), actual) != values.end();
}

}  // namespace

aws::HttpResponse Ec2Service::dispatch(const std::string& action, const aws::Params& params,
                                       const std::string& request_id) {
  State& s = *state_;
  const Query q(params);

  if (action == "RunInstances") {
    const std::string image = q.required("ImageId");
    const int min = to_int(q.required("MinCount"), "MinCount");
    const int max = to_int(q.required("MaxCount"), "MaxCount");
    const std::string token = q.get("ClientToken");
    if (!token.empty()) {
      if (const auto it = s.client_tokens.find(token); it != s.client_tokens.end()) {
        std::vector<const LaunchedInstance*> same;
        for (const auto& id : s.instance_order) {
          const auto& li = s.instances.at(id);
          if (li.reservation_id == it->second) same.push_back(&li);
        }
        if (same.front()->instance.image_id != image) {
          throw ApiError(400, "IdempotentParameterMismatch",
                         "Arguments on this idempotent request are inconsistent with arguments "
                         "used in previous request(s).");
        }
        return ok(action, request_id, reservation_xml(s, options_.owner_id, same));
      }
    }
    if (image.rfind("ami-", 0) != 0) {
      throw ApiError(400, "InvalidAMIID.Malformed",
                     "Invalid id: \"" + image + "\" (expecting \"ami-...\")");
    }
    if (s.images.count(image) == 0) {
      throw ApiError(400, "InvalidAMIID.NotFound", "The image id '[" + image + "]' does not exist");
    }
    if (min < 1 || max < min) {
      throw ApiError(400, "InvalidParameterValue",
                     "MinCount and MaxCount must be 1 <= MinCount <= MaxCount");
    }
    const auto running = std::count_if(s.instances.begin(), s.instances.end(),
                                       [](const auto& e) { return active(e.second.instance); });
    if (running + min > options_.instance_limit) {
      throw ApiError(400, "InstanceLimitExceeded",
                     "You have requested more instances (" + std::to_string(running + min) +
                         ") than your current instance limit of " +
                         std::to_string(options_.instance_limit) +
                         " allows for the specified instance type.");
    }
    const std::string key = q.get("KeyName");
    if (!key.empty() && s.key_pairs.count(key) == 0) {
      throw ApiError(400, "InvalidKeyPair.NotFound", "The key pair '" + key + "' does not exist");
    }
    const auto groups = q.list("SecurityGroupId");
    for (const auto& g : groups) {
      if (s.groups.count(g) == 0) {
        throw ApiError(400, "InvalidGroup.NotFound",
                       "The security group '" + g + "' does not exist");
      }
    }
    std::string user_data;
    if (q.has("UserData")) {
      try {
        user_data = core::base64_decode(q.get("UserData"));
      } catch (const std::exception&) {
        throw ApiError(400, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.");
      }
    }
    std::vector<aws::Tag> tags;
    for (int n = 1; q.has("TagSpecification.1.Tag." + std::to_string(n) + ".Key"); ++n) {
      const std::string prefix = "TagSpecification.1.Tag." + std::to_string(n);
      tags.push_back({q.get(prefix + ".Key"), q.get(prefix + ".Value")});
    }
    const std::string reservation = s.new_id("r");
    const int count = std::min<int>(max, options_.instance_limit - static_cast<int>(running));
    std::vector<const LaunchedInstance*> launched;
    for (int n = 0; n < count; ++n) {
      LaunchedInstance li;
      auto& i = li.instance;
      i.instance_id = s.new_id("i");
      i.image_id = image;
      set_state(i, "pending", kPending);
      i.instance_type = q.get("InstanceType").empty() ? "m1.small" : q.get("InstanceType");
      i.key_name = key;
      i.subnet_id = q.get("SubnetId").empty() ? "subnet-0c10d0default" : q.get("SubnetId");
      i.vpc_id = "vpc-0c10d0default";
      i.availability_zone = options_.region + "a";
      i.launch_time = "2026-12-05T08:00:00.000Z";
      i.client_token = token;
      i.private_ip = "172.31.0." + std::to_string(s.next_private++ % 250 + 2);
      i.state_reason = "pending";
      i.security_group_ids = groups;
      i.tags = tags;
      li.reservation_id = reservation;
      li.user_data = user_data;
      li.metadata_options.http_tokens = q.get("MetadataOptions.HttpTokens");
      li.metadata_options.http_endpoint = q.get("MetadataOptions.HttpEndpoint");
      if (q.has("MetadataOptions.HttpPutResponseHopLimit")) {
        li.metadata_options.http_put_response_hop_limit =
            to_int(q.get("MetadataOptions.HttpPutResponseHopLimit"),
                   "MetadataOptions.HttpPutResponseHopLimit");
      }
      s.instance_order.push_back(i.instance_id);
      launched.push_back(&(s.instances[i.instance_id] = std::move(li)));
    }
    if (!token.empty()) s.client_tokens[token] = reservation;
    return ok(action, request_id, reservation_xml(s, options_.owner_id, launched));
  }

  if (action == "DescribeInstances") {
    const auto ids = q.list("InstanceId");
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    for (int n = 1; q.has("Filter." + std::to_string(n) + ".Name"); ++n) {
      const std::string prefix = "Filter." + std::to_string(n);
      filters.emplace_back(q.get(prefix + ".Name"), q.list(prefix + ".Value"));
    }
    for (const auto& id : ids) find_instance(s, id);
    std::vector<LaunchedInstance*> selected;
    for (const auto& id : s.instance_order) {
      auto& li = s.instances.at(id);
      if (!ids.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
      advance(li, options_.pending_describes);
      if (std::all_of(filters.begin(), filters.end(),
                      [&](const auto& f) { return matches(li, f.first, f.second); })) {
        selected.push_back(&li);
      }
    }
    std::size_t start = 0;
    if (q.has("NextToken"))
      start = static_cast<std::size_t>(to_int(q.get("NextToken"), "NextToken"));
    std::size_t page = selected.size();
    if (q.has("MaxResults")) {
      const int m = to_int(q.get("MaxResults"), "MaxResults");
      if (m < 5 || m > 1000) {
        throw ApiError(400, "InvalidParameterValue",
                       "Value ( " + std::to_string(m) +
                           " ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000.");
      }
      page = static_cast<std::size_t>(m);
    }
    const std::size_t end = std::min(selected.size(), start + page);
    std::string body = "<reservationSet>";
    for (std::size_t i = start; i < end;) {
      std::vector<const LaunchedInstance*> group{selected[i]};
      std::size_t j = i + 1;
      while (j < end && selected[j]->reservation_id == selected[i]->reservation_id)
        group.push_back(selected[j++]);
      body += "<item>" + reservation_xml(s, options_.owner_id, group) + "</item>";
      i = j;
    }
    body += "</reservationSet>";
    if (end < selected.size()) body += element("nextToken", std::to_string(end));
    return ok(action, request_id, body);
  }

  if (action == "StartInstances" || action == "StopInstances" || action == "TerminateInstances") {
    const auto ids = q.list("InstanceId");
    if (ids.empty()) q.required("InstanceId.1");
    for (const auto& id : ids) find_instance(s, id);
    std::string body = "<instancesSet>";
    for (const auto& id : ids) {
      auto& i = find_instance(s, id).instance;
      const std::string previous = i.state;
      const int previous_code = i.state_code;
      if (action == "TerminateInstances") {
        if (i.state != "terminated") set_state(i, "shutting-down", kShuttingDown);
        for (auto& [alloc, a] : s.addresses) {
          if (a.address.instance_id == id) {
            a.address.instance_id.clear();
            a.address.association_id.clear();
          }
        }
      } else if (action == "StopInstances") {
        if (!active(i))
          throw ApiError(
              400, "IncorrectInstanceState",
              "The instance '" + id + "' is not in a state from which it can be stopped.");
        if (i.state != "stopped") set_state(i, "stopping", kStopping);
      } else {
        if (i.state != "stopped" && i.state != "running") {
          throw ApiError(
              400, "IncorrectInstanceState",
              "The instance '" + id + "' is not in a state from which it can be started.");
        }
        if (i.state == "stopped") set_state(i, "pending", kPending);
      }
      find_instance(s, id).describes = 0;
      body += state_change_item(id, previous, previous_code, i.state, i.state_code);
    }
    return ok(action, request_id, body + "</instancesSet>");
  }

  if (action == "RebootInstances") {
    const auto ids = q.list("InstanceId");
    if (ids.empty()) q.required("InstanceId.1");
    for (const auto& id : ids) find_instance(s, id);
    return ok(action, request_id, element("return", "true"));
  }

  return network_action(s, options_, action, q, request_id);
}

}  // namespace cloudtwin::ec2test
