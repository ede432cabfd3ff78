// libFuzzer target for the instance record (record/): any text either is refused with
// cloudtwin::Error or is a record that writes back to text reading as the same record.
// Invariants beyond "no crash": write(parse(x)) parses, to an equal record, and writing
// that again gives the same text (the writer is a fixed point after one round).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/instance.hpp"

namespace rec = cloudtwin::record;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rec::Instance first;
  try {
    first = rec::parse_instance_json(text, "fuzz");
  } catch (const cloudtwin::Error&) {
    return 0;
  }
  const auto written = rec::instance_to_json(first);
  const auto second = rec::parse_instance_json(written, "written");  // throws = a bug
  if (!(second == first)) std::abort();
  if (rec::instance_to_json(second) != written) std::abort();
  return 0;
}
