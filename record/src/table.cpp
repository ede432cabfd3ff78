#include "table.hpp"

#include <algorithm>
#include <cstdint>

namespace cloudtwin::record::table {

namespace {
constexpr std::string_view kLineBreakOrNul("\r\n\0", 3);
}

std::string Value::str() const {
  if (!v_.is_string()) fail("expected a string");
  auto s = v_.get<std::string>();
  if (s.find('\0') != std::string::npos) fail("contains a NUL byte");
  return s;
}

std::string Value::line() const {
  auto s = str();
  const bool control = std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
  });
  if (control) fail("must be a single line without control characters");
  return s;
}

int Value::integer(int lo, int hi) const {
  if (!v_.is_number_integer()) fail("expected an integer");
  // nlohmann keeps non-negative numbers unsigned and negative ones signed
  const auto n = v_.is_number_unsigned()
                     ? std::min<std::uint64_t>(v_.get<std::uint64_t>(), std::uint64_t{1} << 40)
                     : 0;
  const std::int64_t value =
      v_.is_number_unsigned() ? static_cast<std::int64_t>(n) : v_.get<std::int64_t>();
  if (value < lo || value > hi) {
    fail("must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return static_cast<int>(value);
}

bool Value::boolean() const {
  if (!v_.is_boolean()) fail("expected true or false");
  return v_.get<bool>();
}

std::vector<std::string> Value::lines() const {
  if (!v_.is_array()) fail("expected an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v_.size(); ++i) {
    if (!v_[i].is_string()) fail("element " + std::to_string(i) + " is not a string");
    auto s = v_[i].get<std::string>();
    if (s.empty() || s.find_first_of(kLineBreakOrNul) != std::string::npos) {
      fail("element " + std::to_string(i) + " is empty or has a line break");
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, std::string> Value::names() const {
  if (!v_.is_object()) fail("expected an object");
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : v_.items()) {
    if (name.empty() || name.find_first_of(kLineBreakOrNul) != std::string::npos ||
        name.find('/') != std::string::npos || name == "." || name == "..") {
      fail("name '" + name + "' is empty or contains '/' or a line break");
    }
    out[name] = Value(value, source_, where_ + "." + name).str();
  }
  return out;
}

void refuse_unknown(const Value& object, const std::vector<std::string>& known) {
  const auto prefix = object.where().empty() ? std::string() : object.where() + ".";
  for (const auto& [name, value] : object.json().items()) {
    if (name.rfind("x-", 0) == 0) continue;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      Value(value, object.source(), prefix + name)
          .fail("unknown key (a typo? extension keys start with 'x-')");
    }
  }
}

}  // namespace cloudtwin::record::table
