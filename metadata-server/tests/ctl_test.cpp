// `ctl`: commands -> notices in exactly one VM's tree, as EC2 formats them; the socket.
#include "cloudtwin/metadata/ctl.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/ctl_socket.hpp"

namespace cloudtwin::metadata {
namespace {

using std::chrono::seconds;
const auto kNow = std::chrono::system_clock::from_time_t(1547974843);  // 2019-01-20 09:00:43Z

std::shared_ptr<const ServedInstance> vm(const std::string& id, const std::string& ip,
                                         const std::string& name) {
  return make_served(record::parse_instance_json(
                         R"({"instance-id":")" + id + R"(","serve-to":[")" + ip + R"("]})", "t"),
                     nullptr, name);
}

class FixedStore : public InstanceStore {
 public:
  std::vector<std::shared_ptr<const ServedInstance>> vms = {vm("i-a", "10.0.0.1", "web"),
                                                            vm("i-b", "10.0.0.2", "db")};
  std::shared_ptr<const ServedInstance> find(std::string_view, std::string_view a) override {
    for (const auto& v : vms) {
      if (v->instance.serve_to.front() == a) return v;
    }
    return nullptr;
  }
  std::vector<std::shared_ptr<const ServedInstance>> all() const override { return vms; }
};

std::string get(NoticeStore& s, const std::string& ip, const std::string& path) {
  const auto v = s.find("", ip);
  const auto& e = v->tree.find(path);
  return e.kind == MetadataTree::Kind::NotFound ? "<404>" : std::string(e.value());
}

TEST(Ctl, NoticesAppearInOneVmsTreeAsOnEc2) {
  FixedStore inner;
  NoticeBoard board;
  NoticeStore store(inner, board, nullptr);
  const auto run = [&](std::vector<std::string> args) {
    return board.execute(args, inner.all(), kNow);
  };
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot/instance-action"), "<404>");
  EXPECT_EQ(store.find("", "10.0.0.1"), inner.vms[0]);  // nothing posted: the same object

  EXPECT_EQ(run({"spot", "web", "terminate"}), "i-a: spot terminate at 2019-01-20T09:02:43Z\n");
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot/instance-action"),
            R"({"action": "terminate", "time": "2019-01-20T09:02:43Z"})");
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot/termination-time"), "2019-01-20T09:02:43Z");
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot"), "instance-action\ntermination-time");
  EXPECT_NE(get(store, "10.0.0.1", "meta-data/").find("spot/"), std::string::npos);
  // ... and nowhere else.
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/spot/instance-action"), "<404>");
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/").find("spot/"), std::string::npos);

  run({"spot", "i-a", "hibernate"});
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot/instance-action"),
            R"({"action": "hibernate", "time": "2019-01-20T09:00:43Z"})");
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/spot/termination-time"), "<404>");

  EXPECT_EQ(run({"event", "db", "maintenance", "system-reboot", "--in", "0", "--duration", "1000",
                 "--description", "scheduled reboot"}),
            "i-b: scheduled instance-event-00000000000000001\n");
  const std::string scheduled =
      "[ {\n  \"NotBefore\" : \"20 Jan 2019 09:00:43 GMT\",\n  \"Code\" : \"system-reboot\",\n"
      "  \"Description\" : \"scheduled reboot\",\n"
      "  \"EventId\" : \"instance-event-00000000000000001\",\n"
      "  \"NotAfter\" : \"20 Jan 2019 09:17:23 GMT\",\n  \"State\" : \"active\"\n} ]";
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/events/maintenance/scheduled"), scheduled);
  EXPECT_EQ(get(store, "10.0.0.1", "meta-data/events/maintenance/scheduled"), "[]");
  run({"event", "db", "cancel", "instance-event-00000000000000001"});
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/events/maintenance/scheduled"), "[]");
  EXPECT_NE(get(store, "10.0.0.2", "meta-data/events/maintenance/history").find("\"canceled\""),
            std::string::npos);

  run({"rebalance", "db"});
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/events/recommendations/rebalance"),
            R"({"noticeTime": "2019-01-20T09:00:43Z"})");
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/events"), "maintenance/\nrecommendations/");
  run({"lifecycle", "db", "Warmed:Stopped"});
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/autoscaling/target-lifecycle-state"),
            "Warmed:Stopped");
  EXPECT_EQ(run({"list"}),
            "INSTANCE-ID NAME ADDRESSES NOTICES\n"
            "i-a web 10.0.0.1 spot:hibernate\n"
            "i-b db 10.0.0.2 rebalance lifecycle:Warmed:Stopped\n");
  run({"clear", "db"});
  run({"spot", "web", "clear"});
  EXPECT_EQ(get(store, "10.0.0.2", "meta-data/autoscaling/target-lifecycle-state"), "<404>");
  EXPECT_TRUE(board.empty());
}

TEST(Ctl, BadCommandsSayWhy) {
  FixedStore inner;
  NoticeBoard board;
  const struct {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{}, "no command given"},
      {{"reboot", "web"}, "unknown command 'reboot'"},
      {{"spot"}, "needs a VM"},
      {{"spot", "nope", "stop"}, "no VM 'nope' is served"},
      {{"spot", "web", "explode"}, "spot takes terminate"},
      {{"spot", "web", "stop", "--in", "-1"}, "--in takes seconds"},
      {{"spot", "web", "stop", "--in"}, "needs a value"},
      {{"event", "web", "maintenance", "reboot"}, "takes a code"},
      {{"event", "web", "cancel", "instance-event-x"}, "no scheduled event"},
      {{"lifecycle", "web", "Running"}, "lifecycle takes a state"},
  };
  for (const auto& c : cases) {
    try {
      board.execute(c.args, inner.all(), kNow);
      ADD_FAILURE() << "accepted: " << c.message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(board.empty());
}

TEST(CtlSocket, RoundTripAndMode0600) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("cloudtwin-ctl-" + std::to_string(::getpid()));
  const auto path = (dir / "sub" / "metadata.sock").string();
  FixedStore inner;
  NoticeBoard board;
  std::vector<std::string> log;
  {
    CtlServer server(
        path,
        [&](const std::vector<std::string>& a) { return board.execute(a, inner.all(), kNow); },
        [&](const std::string& l) { log.push_back(l); });
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::ostringstream out, err;
    EXPECT_EQ(run_ctl_client(path, {"rebalance", "web"}, out, err), 0) << err.str();
    EXPECT_EQ(out.str(), "i-a: rebalance recommendation at 2019-01-20T09:00:43Z\n");
    std::ostringstream out2, err2;
    EXPECT_EQ(run_ctl_client(path, {"spot", "nope", "stop"}, out2, err2), 1);
    EXPECT_NE(err2.str().find("no VM 'nope'"), std::string::npos) << err2.str();
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on shutdown
  std::ostringstream out, err;
  EXPECT_EQ(run_ctl_client(path, {"list"}, out, err), 1);
  EXPECT_NE(err.str().find("cannot reach the daemon"), std::string::npos) << err.str();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloudtwin::metadata
