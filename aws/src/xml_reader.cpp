#include "xml_reader.hpp"

#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Node.h>
#include <Poco/Exception.h>
#include <Poco/SAX/SAXException.h>
#include <Poco/XML/XMLException.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws::xml {

namespace {

std::string_view local_name(const Poco::XML::Node& node) {
  const std::string& local = node.localName();
  if (!local.empty()) return local;
  std::string_view name = node.nodeName();
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

template <typename Visit>
void for_each_child(const Element& parent, std::string_view name, Visit&& visit) {
  for (auto* node = parent.firstChild(); node != nullptr; node = node->nextSibling()) {
    if (node->nodeType() != Poco::XML::Node::ELEMENT_NODE) continue;
    if (local_name(*node) != name) continue;
    if (!visit(static_cast<const Element&>(*node))) return;
  }
}

}  // namespace

Document::Document(std::string_view text, std::string_view what) {
  if (text.find("<!DOCTYPE") != std::string_view::npos ||
      text.find("<!ENTITY") != std::string_view::npos) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + ": the answer has a DTD, which EC2 never sends");
  }
  try {
    Poco::XML::DOMParser parser;
    parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
    parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
    parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
    doc_ = parser.parseMemory(text.data(), text.size());
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + ": not well-formed XML (" + e.displayText() + ")");
  }
  root_ = doc_ ? doc_->documentElement() : nullptr;
  if (root_ == nullptr) throw Error(ErrorCode::InvalidArgument, std::string(what) + ": empty XML");
}

const Element* child(const Element& parent, std::string_view name) {
  const Element* found = nullptr;
  for_each_child(parent, name, [&](const Element& e) {
    found = &e;
    return false;
  });
  return found;
}

std::vector<const Element*> children(const Element& parent, std::string_view name) {
  std::vector<const Element*> out;
  for_each_child(parent, name, [&](const Element& e) {
    out.push_back(&e);
    return true;
  });
  return out;
}

std::vector<const Element*> items(const Element& parent, std::string_view set_name) {
  const auto* set = child(parent, set_name);
  return set == nullptr ? std::vector<const Element*>{} : children(*set, "item");
}

std::string text(const Element& parent, std::string_view name) {
  const auto* e = child(parent, name);
  return e == nullptr ? std::string() : e->innerText();
}

std::string text(const Element& parent, std::string_view a, std::string_view b) {
  const auto* e = child(parent, a);
  return e == nullptr ? std::string() : text(*e, b);
}

std::string required(const Element& parent, std::string_view name, std::string_view what) {
  return required_child(parent, name, what).innerText();
}

const Element& required_child(const Element& parent, std::string_view name, std::string_view what) {
  const auto* e = child(parent, name);
  if (e == nullptr) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + ": no <" + std::string(name) + "> in the answer");
  }
  return *e;
}

}  // namespace cloudtwin::aws::xml
