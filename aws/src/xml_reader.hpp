#pragma once
// Internal to aws/src: a parsed XML answer and lookups by local name (EC2 answers carry
// a versioned default namespace, which the readers ignore). Poco XML stays in here.

#include <Poco/AutoPtr.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>

#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::aws::xml {

using Poco::XML::Element;

class Document {
 public:
  // Throws Error(InvalidArgument) "<what>: not well-formed XML (...)"; refuses DTDs.
  Document(std::string_view text, std::string_view what);
  const Element& root() const { return *root_; }

 private:
  Poco::AutoPtr<Poco::XML::Document> doc_;
  const Element* root_ = nullptr;
};

// The first child element with this local name, or nullptr.
const Element* child(const Element& parent, std::string_view name);
// Every child element with this local name, in order.
std::vector<const Element*> children(const Element& parent, std::string_view name);
// The <item> children of parent/<set_name> (EC2's list shape); empty when absent.
std::vector<const Element*> items(const Element& parent, std::string_view set_name);
// The text of child `name` ("" when absent).
std::string text(const Element& parent, std::string_view name);
// The text of parent/a/b ("" when any step is absent).
std::string text(const Element& parent, std::string_view a, std::string_view b);
// As text(), but throws Error(InvalidArgument) "<what>: no <name> in the answer".
std::string required(const Element& parent, std::string_view name, std::string_view what);
const Element& required_child(const Element& parent, std::string_view name, std::string_view what);

}  // namespace cloudtwin::aws::xml
