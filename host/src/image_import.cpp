#include "cloudtwin/host/image_import.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {

namespace {

// Removes what an import made unless it was handed over (release()).
class Leftovers {
 public:
  explicit Leftovers(Storage& storage) : storage_(storage) {}
  Leftovers(const Leftovers&) = delete;
  Leftovers& operator=(const Leftovers&) = delete;
  ~Leftovers() {
    for (const auto& p : paths_) {
      try {
        storage_.remove_file(p);
      } catch (const Error&) {  // the import's own failure is what gets reported
      }
    }
  }
  void add(const std::string& path) { paths_.push_back(path); }
  void release() { paths_.clear(); }

 private:
  Storage& storage_;
  std::vector<std::string> paths_;
};

}  // namespace

record::Json image_record_value(const ImageRecord& r) {
  return {
      {"name", r.name},
      {"format", r.format},
      {"virtual-size", r.virtual_size},
      {"source-format", r.source_format},
      {"source-size", r.source_size},
      {"sha256", r.sha256},
      {"origin", r.origin},
      {"imported-at", r.imported_at},
  };
}

std::string image_record_json(const ImageRecord& r) { return image_record_value(r).dump(2) + "\n"; }

ImageRecord parse_image_record(std::string_view json, std::string_view source) {
  const auto j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::InvalidArgument, "image record " + std::string(source) + ": " + why);
  };
  if (!j.is_object()) throw bad("not a JSON object");
  ImageRecord r;
  const auto str = [&](const char* key, std::string& out) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) throw bad(std::string("no string \"") + key + "\"");
    out = it->get<std::string>();
  };
  const auto num = [&](const char* key, std::uint64_t& out) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned())
      throw bad(std::string("no unsigned integer \"") + key + "\"");
    out = it->get<std::uint64_t>();
  };
  str("name", r.name);
  str("format", r.format);
  num("virtual-size", r.virtual_size);
  str("source-format", r.source_format);
  num("source-size", r.source_size);
  str("sha256", r.sha256);
  str("origin", r.origin);
  str("imported-at", r.imported_at);
  return r;
}

std::string image_record_path(const std::string& images_dir, const std::string& name) {
  return images_dir + "/." + name + ".json";
}

std::optional<ImageRecord> ImageImporter::record(const std::string& name) {
  const auto path = image_record_path(dir_, name);
  const auto text = files_.read(path);
  if (!text) return std::nullopt;
  return parse_image_record(*text, path);
}

ImageRecord ImageImporter::import(
    const ImportRequest& request,
    const std::function<void(ImportStage, std::uint64_t, std::optional<std::uint64_t>)>& progress) {
  const auto name = request.name.empty() ? source_base_name(request.source) : request.name;
  check_image_name(name);
  const auto expected = request.sha256.empty() ? "" : normalise_sha256(request.sha256);
  const auto path = dir_ + "/" + name;
  const auto exists_error = [&] {
    return Error(ErrorCode::InvalidArgument,
                 "an image named '" + name + "' already exists; delete it or choose another NAME");
  };
  if (storage_.exists(path)) throw exists_error();
  const auto origin = request.source.origin();

  // Dot names are invisible to `image list` and templates until the last rename.
  const auto tag = "-" + std::to_string(::getpid());
  const auto fetched = dir_ + "/." + name + ".download" + tag;
  const auto part = dir_ + "/." + name + ".part" + tag;
  const auto record_path = image_record_path(dir_, name);
  Leftovers leftovers(storage_);
  leftovers.add(fetched);
  leftovers.add(part);

  const auto fetch_progress = [&](std::uint64_t done, std::optional<std::uint64_t> total) {
    if (progress) progress(ImportStage::Fetch, done, total);
  };
  FetchResult got;
  std::string source_file;
  if (request.source.kind == SourceKind::Path) {
    source_file = request.source.path;
    if (!storage_.exists(source_file))
      throw Error(ErrorCode::NotFound, "image file " + source_file + " does not exist");
    got = fetcher_.hash_file(source_file, fetch_progress);
  } else {
    source_file = fetched;
    got = fetcher_.download(request.download, fetched, fetch_progress);
  }
  if (!expected.empty() && got.sha256 != expected) {
    throw Error(ErrorCode::InvalidArgument,
                origin + ": SHA-256 mismatch: expected " + expected + ", got " + got.sha256 + " (" +
                    std::to_string(got.bytes) + " bytes); nothing was imported");
  }

  const auto info = parse_qemu_img_info(tool_.info_json(source_file, ""), origin);
  if (!is_importable_format(info.format)) {
    throw Error(ErrorCode::InvalidArgument,
                origin + " is a '" + info.format +
                    "' image; cloudtwin imports raw, qcow2, vmdk, vdi and vhd (vpc)");
  }
  if (!info.backing_file.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                origin + " has a backing file (" + info.backing_file +
                    "); import a flattened image (qemu-img convert -O qcow2)");
  }
  if (info.format == "qcow2" && source_file == fetched) {
    storage_.rename(fetched, part);  // already what the repository keeps: no second copy
  } else {
    tool_.convert_to_qcow2(source_file, info.format, part, [&](double pct) {
      if (progress) progress(ImportStage::Convert, static_cast<std::uint64_t>(pct), 100);
    });
    storage_.remove_file(fetched);
  }
  const auto stored = parse_qemu_img_info(tool_.info_json(part, "qcow2"), part);

  ImageRecord record{name,       "qcow2", stored.virtual_size, info.format, got.bytes,
                     got.sha256, origin,  request.now};
  auto lock = storage_.lock(lock_path_);  // the lock `vm create` and `image delete` hold
  if (storage_.exists(path)) throw exists_error();
  files_.write(record_path, image_record_json(record));
  leftovers.add(record_path);
  storage_.rename(part, path);
  leftovers.release();
  return record;
}

}  // namespace cloudtwin::host
