// YAML form of a template, e.g.
//   CPU: 1
//   NIC: [{NETWORK: lan, IP: 192.168.122.10}]
//   CONTEXT: {SSH_PUBLIC_KEY: "$USER[SSH_PUBLIC_KEY]"}
// Keys are case-insensitive like the OpenNebula form; positions come from yaml-cpp marks.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/template.hpp"

namespace cloudtwin::host {
namespace {

SourcePos pos_of(const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return {0, 0};
  return {static_cast<std::size_t>(m.line) + 1, static_cast<std::size_t>(m.column) + 1};
}

[[noreturn]] void fail(std::string_view source, SourcePos at, const std::string& what) {
  throw ParseError(ErrorCode::InvalidArgument, std::string(source), at.line, at.column, what);
}

std::string upper_key(std::string_view source, const YAML::Node& key) {
  if (!key.IsScalar()) fail(source, pos_of(key), "a template key must be a plain name");
  const auto& s = key.Scalar();
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
      fail(source, pos_of(key), "template key '" + s + "' is not a name ([A-Za-z0-9_]+)");
    }
  }
  return core::upper(s);
}

std::string scalar(std::string_view source, const YAML::Node& v, const std::string& what) {
  if (v.IsNull()) return "";
  if (!v.IsScalar()) fail(source, pos_of(v), what + " must be a single value");
  return v.Scalar();
}

TemplateAttr vector_attr(std::string_view source, const std::string& name, const YAML::Node& map) {
  TemplateAttr a;
  a.name = name;
  a.is_vector = true;
  a.pos = pos_of(map);
  for (const auto& kv : map) {
    TemplatePair p;
    p.key = upper_key(source, kv.first);
    p.pos = pos_of(kv.second);
    p.value = scalar(source, kv.second, name + "/" + p.key);
    a.pairs.push_back(std::move(p));
  }
  return a;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

VmTemplate parse_vm_template_yaml(std::string_view text, std::string_view source) {
  return vm_template_from_attrs(parse_template_attrs_yaml(text, source), source);
}

VmTemplate parse_vm_template_auto(std::string_view text, std::string_view source) {
  if (ends_with(source, ".yaml") || ends_with(source, ".yml"))
    return parse_vm_template_yaml(text, source);
  return parse_vm_template(text, source);
}

std::vector<TemplateAttr> parse_template_attrs_yaml(std::string_view text,
                                                    std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const auto line = e.mark.line < 0 ? 0U : static_cast<std::size_t>(e.mark.line) + 1;
    const auto col = e.mark.column < 0 ? 0U : static_cast<std::size_t>(e.mark.column) + 1;
    throw ParseError(ErrorCode::InvalidArgument, std::string(source), line, col, e.msg);
  }
  std::vector<TemplateAttr> attrs;
  if (root.IsNull()) return attrs;
  if (!root.IsMap()) fail(source, pos_of(root), "a YAML template must be a mapping of NAME: value");
  for (const auto& kv : root) {
    const auto name = upper_key(source, kv.first);
    const auto& v = kv.second;
    if (v.IsMap()) {
      attrs.push_back(vector_attr(source, name, v));
    } else if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!item.IsMap()) fail(source, pos_of(item), name + " list items must be mappings");
        attrs.push_back(vector_attr(source, name, item));
      }
    } else {
      TemplateAttr a;
      a.name = name;
      a.pos = pos_of(kv.first);
      a.value = scalar(source, v, name);
      attrs.push_back(std::move(a));
    }
  }
  return attrs;
}

}  // namespace cloudtwin::host
