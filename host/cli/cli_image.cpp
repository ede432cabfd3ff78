// `cloudtwin image register|list|show|delete`.
#include <cmath>
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image.hpp"
#include "cloudtwin/host/instance_record.hpp"

namespace cloudtwin::host {
namespace {

std::string image_json(const ImageSummary& s) {
  std::string j = "{\"name\":" + json_quote(s.name) + ",\"path\":" + json_quote(s.path) +
                  ",\"format\":" + json_quote(s.info.format) +
                  ",\"virtual_size\":" + std::to_string(s.info.virtual_size) +
                  ",\"actual_size\":" + std::to_string(s.info.actual_size) +
                  ",\"backing_file\":" + json_quote(s.info.backing_file) + ",\"used_by\":[";
  for (std::size_t i = 0; i < s.used_by.size(); ++i) j += (i ? "," : "") + json_quote(s.used_by[i]);
  return j + "]}";
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "-" : s;
}

void print_image(std::ostream& out, const ImageSummary& s) {
  print_table(out, {{"name:", s.name},
                    {"path:", s.path},
                    {"format:", s.info.format},
                    {"virtual size:", human_size(s.info.virtual_size)},
                    {"disk size:", human_size(s.info.actual_size)},
                    {"used by:", joined(s.used_by)}});
}

}  // namespace

int run_image(const std::string& verb, const Args& a, CliContext& ctx) {
  auto hv = ctx.env.connect(ctx.uri);
  auto storage = ctx.env.storage();
  auto tool = ctx.env.image_tool();
  const auto& settings = ctx.config.settings;
  ImageService images(*storage, *tool, *hv, settings.images_dir, settings.instances_dir + "/.lock");
  if (verb == "register") {
    const auto source = need_one(a, "image FILE");
    int shown = -1;
    const auto progress = [&](double p) {
      const int pct = static_cast<int>(std::floor(p));
      if (a.json() || pct == shown) return;
      shown = pct;
      ctx.err << "\rconverting " << source << ": " << pct << "%" << std::flush;
    };
    const auto s =
        images.register_image(source, a.option("--name"), a.option("--format"), progress);
    if (shown >= 0) ctx.err << "\n";
    if (a.json())
      ctx.out << image_json(s) << "\n";
    else
      ctx.out << "registered image " << s.name << " (" << human_size(s.info.virtual_size)
              << ", qcow2) at " << s.path << "\n";
  } else if (verb == "list") {
    if (!a.positional.empty()) throw UsageError{"image list takes no arguments"};
    const auto list = images.list();
    if (a.json()) {
      ctx.out << "[";
      for (std::size_t i = 0; i < list.size(); ++i)
        ctx.out << (i ? "," : "") << image_json(list[i]);
      ctx.out << "]\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"NAME", "FORMAT", "SIZE", "DISK", "USED-BY"}};
    for (const auto& s : list) {
      rows.push_back({s.name, s.info.format.empty() ? "?" : s.info.format,
                      human_size(s.info.virtual_size), human_size(s.info.actual_size),
                      joined(s.used_by)});
    }
    print_table(ctx.out, rows);
  } else if (verb == "show") {
    const auto s = images.show(need_one(a, "image NAME"));
    if (a.json())
      ctx.out << image_json(s) << "\n";
    else
      print_image(ctx.out, s);
  } else if (verb == "delete") {
    const auto name = need_one(a, "image NAME");
    images.remove(name);
    if (!a.json()) ctx.out << "deleted image " << name << "\n";
  } else {
    throw UsageError{"unknown image subcommand '" + verb + "'"};
  }
  return 0;
}

}  // namespace cloudtwin::host
