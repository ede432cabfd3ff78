#pragma once
// JSON for the parts of the tree that write it: nlohmann-json, the tree's one JSON
// library (header-only, so the agent loads no shared JSON library at boot), and the
// record as a JSON value to embed in other output (`vm show --json`).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::record {

using Json = nlohmann::ordered_json;  // members in the order they are added

// Compact text; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string dump(const Json& value);

// A JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// The record as instance_to_json writes it, as a value.
Json instance_to_value(const Instance& instance);

}  // namespace cloudtwin::record
