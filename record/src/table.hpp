#pragma once
// The machinery of the field table: a table is a list of rows, one per JSON key of an
// object; a row knows its key, what the docs say about it, how to read it into a struct
// (validating) and how to write it back (leaving out what parsing would fill in anyway).
// Row helpers below cover the usual kinds; a row with special rules is a lambda.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::record::table {

using record::Json;

// A JSON value being read and where it is, for messages: "source: key 'a.b[0].c': what".
class Value {
 public:
  Value(const Json& v, const std::string& source, std::string where)
      : v_(v), source_(source), where_(std::move(where)) {}
  const Json& json() const { return v_; }
  const std::string& where() const { return where_; }
  const std::string& source() const { return source_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::InvalidArgument, source_ + ": key '" + where_ + "': " + what);
  }
  std::string str() const;                           // any string without NUL
  std::string line() const;                          // a string without control characters
  int integer(int lo, int hi) const;                 // an integer in [lo, hi]
  bool boolean() const;                              // true or false
  std::vector<std::string> lines() const;            // non-empty single-line strings
  std::map<std::string, std::string> names() const;  // {name: string}, names path-safe

 private:
  const Json& v_;
  const std::string& source_;
  std::string where_;
};

template <class T>
struct Row {
  std::string key;
  std::string type;      // for the docs: "string", "[string]", "integer 0-255", ...
  std::string fallback;  // for the docs: what an absent key means ("required", a default)
  std::string meaning;   // for the docs
  std::function<void(const Value&, T&)> read;  // the key is present and not null
  std::function<void(Json&, const T&)> write;  // sets the key unless parsing derives it
  // Set for rows whose value is an object or a list of objects: the nested keys, for the
  // docs ("placement.region", "network-interfaces[].mac").
  std::function<std::vector<std::vector<std::string>>()> nested_docs;
  bool required = false;  // an absent key is refused
};

template <class T>
using Table = std::vector<Row<T>>;

// Refuses keys the table lacks (except "x-..." extension keys when allowed).
// Nested "x-..." keys are accepted and ignored; the top level keeps them (extensions).
void refuse_unknown(const Value& object, const std::vector<std::string>& known);

template <class T>
std::vector<std::string> keys_of(const Table<T>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.key);
  return out;
}

template <class T>
void read_object(const Value& object, const Table<T>& rows, T& out) {
  if (!object.json().is_object()) object.fail("expected an object");
  refuse_unknown(object, keys_of(rows));
  const auto prefix = object.where().empty() ? std::string() : object.where() + ".";
  for (const auto& row : rows) {
    const auto it = object.json().find(row.key);
    if (it != object.json().end() && !it->is_null()) {
      row.read(Value(*it, object.source(), prefix + row.key), out);
    } else if (row.required) {
      Value(object.json(), object.source(), prefix + row.key).fail("is required");
    }
  }
}

template <class T>
Json write_object(const Table<T>& rows, const T& in) {
  Json out = Json::object();
  for (const auto& row : rows) row.write(out, in);
  return out;
}

// Markdown rows (key, type, default, meaning) of a table, nested keys under `prefix`.
template <class T>
std::vector<std::vector<std::string>> docs_of(const Table<T>& rows, const std::string& prefix) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : rows) {
    out.push_back({prefix + r.key, r.type, r.fallback, r.meaning});
    if (!r.nested_docs) continue;
    for (auto nested : r.nested_docs()) {
      nested[0] = prefix + r.key + (r.type.front() == '[' ? "[]." : ".") + nested[0];
      out.push_back(std::move(nested));
    }
  }
  return out;
}

// ---- row helpers: a member of T of a usual kind -------------------------------------

// A member written when it differs from its default (the default-constructed T's).
template <class T, class M>
std::function<void(Json&, const T&)> unless_default(std::string key, M T::*m,
                                                    std::function<Json(const M&)> to_json) {
  return [key = std::move(key), m, to_json = std::move(to_json)](Json& o, const T& t) {
    if (t.*m != T{}.*m) o[key] = to_json(t.*m);
  };
}

template <class M>
Json as_is(const M& v) {
  return Json(v);
}

template <class T>
Row<T> line(std::string key, std::string T::*m, std::string meaning) {
  const auto fallback = T{}.*m;
  return {key,
          "string",
          fallback.empty() ? "" : fallback,
          std::move(meaning),
          [m](const Value& v, T& t) { t.*m = v.line(); },
          unless_default<T, std::string>(key, m, as_is<std::string>),
          {}};
}

template <class T>
Row<T> text(std::string key, std::string T::*m, std::string meaning) {
  auto r = line(key, m, std::move(meaning));
  r.type = "text";
  r.read = [m](const Value& v, T& t) { t.*m = v.str(); };
  return r;
}

template <class T>
Row<T> integer(std::string key, int T::*m, int lo, int hi, std::string meaning) {
  return {key,
          "integer " + std::to_string(lo) + "-" + std::to_string(hi),
          std::to_string(T{}.*m),
          std::move(meaning),
          [m, lo, hi](const Value& v, T& t) { t.*m = v.integer(lo, hi); },
          unless_default<T, int>(key, m, as_is<int>),
          {}};
}

template <class T>
Row<T> boolean(std::string key, bool T::*m, std::string meaning) {
  return {key,
          "boolean",
          T{}.*m ? "true" : "false",
          std::move(meaning),
          [m](const Value& v, T& t) { t.*m = v.boolean(); },
          unless_default<T, bool>(key, m, as_is<bool>),
          {}};
}

// A list of non-empty single-line strings; `check` canonicalises or refuses one element.
template <class T>
Row<T> lines(std::string key, std::vector<std::string> T::*m, std::string meaning,
             std::function<std::string(const Value&, const std::string&)> check = {}) {
  return {key,
          "[string]",
          "",
          std::move(meaning),
          [m, check](const Value& v, T& t) {
            auto items = v.lines();
            if (check) {
              for (auto& s : items) s = check(v, s);
            }
            t.*m = std::move(items);
          },
          unless_default<T, std::vector<std::string>>(key, m, as_is<std::vector<std::string>>),
          {}};
}

template <class T>
Row<T> names(std::string key, std::map<std::string, std::string> T::*m, std::string meaning) {
  return {key,
          "{name: string}",
          "",
          std::move(meaning),
          [m](const Value& v, T& t) { t.*m = v.names(); },
          unless_default<T, std::map<std::string, std::string>>(
              key, m, as_is<std::map<std::string, std::string>>),
          {}};
}

// An optional<E> from a closed set of words.
template <class T, class E>
Row<T> choice(std::string key, std::optional<E> T::*m, std::vector<std::pair<std::string, E>> words,
              std::string meaning) {
  std::string type;
  for (const auto& w : words) type += (type.empty() ? "" : " \\| ") + w.first;
  return {key,
          type,
          "",
          std::move(meaning),
          [m, words](const Value& v, T& t) {
            const auto s = v.str();
            for (const auto& [word, e] : words) {
              if (s == word) {
                t.*m = e;
                return;
              }
            }
            v.fail("must be " + words.at(0).first + " or " + words.at(1).first);
          },
          [key, m, words](Json& o, const T& t) {
            if (!(t.*m)) return;
            for (const auto& [word, e] : words) {
              if (e == *(t.*m)) o[key] = word;
            }
          },
          {}};
}

// Keys of a nested JSON object read into members of the same struct T ("placement").
template <class T>
Row<T> group(std::string key, Table<T> rows, std::string meaning) {
  return {key,
          "object",
          "",
          std::move(meaning),
          [rows](const Value& v, T& t) { read_object(v, rows, t); },
          [key, rows](Json& o, const T& t) {
            auto sub = write_object(rows, t);
            if (!sub.empty()) o[key] = std::move(sub);
          },
          [rows] { return docs_of(rows, ""); }};
}

// A member struct S written as a nested object when it differs from S{}.
template <class T, class S>
Row<T> object(std::string key, S T::*m, Table<S> rows, std::string meaning) {
  return {key,
          "object",
          "",
          std::move(meaning),
          [m, rows](const Value& v, T& t) { read_object(v, rows, t.*m); },
          [key, m, rows](Json& o, const T& t) {
            if (!(t.*m == S{})) o[key] = write_object(rows, t.*m);
          },
          [rows] { return docs_of(rows, ""); }};
}

// An optional<S> member: present when the key is.
template <class T, class S>
Row<T> optional_object(std::string key, std::optional<S> T::*m, Table<S> rows,
                       std::string meaning) {
  return {key,
          "object",
          "",
          std::move(meaning),
          [m, rows](const Value& v, T& t) {
            S s;
            read_object(v, rows, s);
            t.*m = std::move(s);
          },
          [key, m, rows](Json& o, const T& t) {
            if (t.*m) o[key] = write_object(rows, *(t.*m));
          },
          [rows] { return docs_of(rows, ""); }};
}

// A list of S, each an object read by `rows`.
template <class T, class S>
Row<T> objects(std::string key, std::vector<S> T::*m, Table<S> rows, std::string meaning) {
  return {key,
          "[object]",
          "",
          std::move(meaning),
          [m, rows](const Value& v, T& t) {
            if (!v.json().is_array()) v.fail("expected an array of objects");
            std::vector<S> out;
            for (std::size_t n = 0; n < v.json().size(); ++n) {
              const Value item(v.json()[n], v.source(), v.where() + "[" + std::to_string(n) + "]");
              if (!item.json().is_object())
                v.fail("element " + std::to_string(n) + " is not an object");
              S s;
              read_object(item, rows, s);
              out.push_back(std::move(s));
            }
            t.*m = std::move(out);
          },
          [key, m, rows](Json& o, const T& t) {
            if ((t.*m).empty()) return;
            Json a = Json::array();
            for (const auto& s : t.*m) a.push_back(write_object(rows, s));
            o[key] = std::move(a);
          },
          [rows] { return docs_of(rows, ""); }};
}

// The same row, written even when it holds the default (kept visible to readers).
template <class T, class F>
Row<T> always(Row<T> row, F value) {
  row.write = [key = row.key, value = std::move(value)](Json& o, const T& t) { o[key] = value(t); };
  return row;
}

template <class T>
Row<T> required(Row<T> row) {
  row.required = true;
  row.fallback = "required";
  return row;
}

// A row whose read and write are its own (rules no helper covers).
template <class T>
Row<T> custom(std::string key, std::string type, std::string fallback, std::string meaning,
              std::function<void(const Value&, T&)> read,
              std::function<void(Json&, const T&)> write) {
  return {std::move(key),
          std::move(type),
          std::move(fallback),
          std::move(meaning),
          std::move(read),
          std::move(write),
          {}};
}

}  // namespace cloudtwin::record::table
