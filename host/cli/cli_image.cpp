// `cloudtwin image register|list|show|delete`.
#include <cmath>
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image.hpp"
#include "cloudtwin/host/image_import.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::host {
namespace {

// What `image import` recorded beside the image; nullopt for a registered file (or an
// unreadable record, which must not hide the image).
std::optional<ImageRecord> record_of(const CliContext& ctx, const std::string& name) {
  const auto path = image_record_path(ctx.config.settings.images_dir, name);
  try {
    const auto text = ctx.env.read_file ? ctx.env.read_file(path) : std::nullopt;
    if (text) return parse_image_record(*text, path);
  } catch (const Error&) {
  }
  return std::nullopt;
}

std::string image_json(const ImageSummary& s, const std::optional<ImageRecord>& r) {
  auto j = record::Json{{"name", s.name},
                        {"path", s.path},
                        {"format", s.info.format},
                        {"virtual-size", s.info.virtual_size},
                        {"actual-size", s.info.actual_size},
                        {"backing-file", s.info.backing_file},
                        {"used-by", s.used_by}};
  if (r) {
    j["source-format"] = r->source_format;
    j["source-size"] = r->source_size;
    j["sha256"] = r->sha256;
    j["origin"] = r->origin;
    j["imported-at"] = r->imported_at;
  }
  return record::dump(j);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "-" : s;
}

void print_image(std::ostream& out, const ImageSummary& s, const std::optional<ImageRecord>& r) {
  std::vector<std::vector<std::string>> rows = {{"name:", s.name},
                                                {"path:", s.path},
                                                {"format:", s.info.format},
                                                {"virtual size:", human_size(s.info.virtual_size)},
                                                {"disk size:", human_size(s.info.actual_size)},
                                                {"used by:", joined(s.used_by)}};
  if (r) {
    rows.push_back({"origin:", r->origin});
    rows.push_back({"source:", r->source_format + ", " + human_size(r->source_size) + " (" +
                                   std::to_string(r->source_size) + " bytes)"});
    rows.push_back({"sha256:", r->sha256});
    rows.push_back({"imported at:", r->imported_at});
  }
  print_table(out, rows);
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
      ctx.out << image_json(s, std::nullopt) << "\n";
    else
      ctx.out << "registered image " << s.name << " (" << human_size(s.info.virtual_size)
              << ", qcow2) at " << s.path << "\n";
  } else if (verb == "list") {
    if (!a.positional.empty()) throw UsageError{"image list takes no arguments"};
    const auto list = images.list();
    if (a.json()) {
      ctx.out << "[";
      for (std::size_t i = 0; i < list.size(); ++i)
        ctx.out << (i ? "," : "") << image_json(list[i], record_of(ctx, list[i].name));
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
    const auto r = record_of(ctx, s.name);
    if (a.json())
      ctx.out << image_json(s, r) << "\n";
    else
      print_image(ctx.out, s, r);
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
