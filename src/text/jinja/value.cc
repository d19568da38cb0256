#include "text/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ts::jinja {

Dict& Dict::operator=(const Dict& other) {
  if (this != &other) {
    entries_ = other.entries_;
    Reindex();
  }
  return *this;
}

size_t Dict::IndexOf(std::string_view key) const {
  if (entries_.size() < kIndexFrom) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == key) return i;
    }
    return entries_.size();
  }
  auto it = index_.find(key);
  return it == index_.end() ? entries_.size() : it->second;
}

const Value* Dict::Find(std::string_view key) const {
  size_t i = IndexOf(key);
  return i == entries_.size() ? nullptr : &entries_[i].second;
}

void Dict::Set(std::string key, Value value) {
  size_t i = IndexOf(key);
  if (i < entries_.size()) {
    entries_[i].second = std::move(value);
    return;
  }
  const auto* old_data = entries_.data();
  entries_.emplace_back(std::move(key), std::move(value));
  if (entries_.size() < kIndexFrom) return;
  // The index holds views of the keys: rebuild it when the vector moved them (or when it is
  // first needed); otherwise add the new key.
  if (index_.empty() || entries_.data() != old_data) {
    Reindex();
  } else {
    index_.emplace(entries_.back().first, entries_.size() - 1);
  }
}

void Dict::Reindex() {
  index_.clear();
  if (entries_.size() < kIndexFrom) return;
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
}

void Dict::Clear() {
  entries_.clear();
  index_.clear();
}

Value Value::MakeUndefined(std::string hint) {
  Value v;
  std::get<Undefined>(v.v_).hint = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Result<Value> Value::MakeList(std::vector<Value> items, bool is_tuple) {
  int depth = 1;
  for (const Value& item : items) depth = std::max(depth, item.depth() + 1);
  if (depth > kMaxValueDepth) return OutOfRange("list nested too deeply");
  auto data = std::make_shared<ListData>();
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  data->depth = depth;
  Value v;
  v.v_ = ListPtr(std::move(data));
  return v;
}

Result<Value> Value::MakeDict(Dict dict) {
  int depth = 1;
  for (const auto& [key, item] : dict.entries()) depth = std::max(depth, item.depth() + 1);
  if (depth > kMaxValueDepth) return OutOfRange("dict nested too deeply");
  auto data = std::make_shared<DictData>();
  data->dict = std::move(dict);
  data->depth = depth;
  Value v;
  v.v_ = DictPtr(std::move(data));
  return v;
}

double Value::as_number() const {
  switch (kind()) {
    case Kind::kBool:
      return as_bool() ? 1.0 : 0.0;
    case Kind::kInt:
      return static_cast<double>(as_int());
    case Kind::kFloat:
      return as_float();
    default:
      return 0.0;
  }
}

int Value::depth() const {
  if (is_list()) return list_data().depth;
  if (is_dict()) return std::get<DictPtr>(v_)->depth;
  return 1;
}

bool Value::IsTruthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int() != 0;
    case Kind::kFloat:
      return as_float() != 0.0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !as_list().empty();
    case Kind::kDict:
      return !as_dict().empty();
    case Kind::kNamespace:
    case Kind::kCallable:
      return true;
  }
  return false;
}

std::string_view Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return is_tuple() ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
  }
  return "object";
}

bool SameObject(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::kInt:
      return a.as_int() == b.as_int();
    case Value::Kind::kFloat:
      return a.as_float() == b.as_float();
    case Value::Kind::kString:
      return std::get<Value::StringPtr>(a.v_) == std::get<Value::StringPtr>(b.v_);
    case Value::Kind::kList:
      return std::get<Value::ListPtr>(a.v_) == std::get<Value::ListPtr>(b.v_);
    case Value::Kind::kDict:
      return std::get<Value::DictPtr>(a.v_) == std::get<Value::DictPtr>(b.v_);
    case Value::Kind::kNamespace:
      return std::get<Value::NamespacePtr>(a.v_) == std::get<Value::NamespacePtr>(b.v_);
    case Value::Kind::kCallable:
      return std::get<Value::CallablePtr>(a.v_) == std::get<Value::CallablePtr>(b.v_);
  }
  return false;
}

Result<bool> Equals(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) return OutOfRange("values nested too deeply to compare");
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_number() == b.as_number();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kString:
      return a.as_string() == b.as_string();
    case K::kList: {
      if (a.is_tuple() != b.is_tuple()) return false;
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        ASSIGN_OR_RETURN(bool eq, Equals(x[i], y[i], depth + 1));
        if (!eq) return false;
      }
      return true;
    }
    case K::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x.entries()) {
        const Value* other = y.Find(key);
        if (other == nullptr) return false;
        ASSIGN_OR_RETURN(bool eq, Equals(value, *other, depth + 1));
        if (!eq) return false;
      }
      return true;
    }
    default:
      return SameObject(a, b);
  }
}

Result<int> Compare(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) return OutOfRange("values nested too deeply to compare");
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    double x = a.as_number();
    double y = b.as_number();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    // Byte order of UTF-8 is code point order, which is what Python compares.
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      ASSIGN_OR_RETURN(int c, Compare(x[i], y[i], depth + 1));
      if (c != 0) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  return InvalidArgument(std::string("'<' not supported between instances of '") +
                         std::string(a.TypeName()) + std::string("' and '") +
                         std::string(b.TypeName()) + "'");
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout rule for repr(float).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  int exponent = std::stoi(sci.substr(e_pos + 1));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += std::string("0.") + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1);
  }
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

namespace {

// Python's repr of a str: single quotes unless the text holds ' and no ".
void AppendStringRepr(const std::string& s, std::string& out) {
  char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  out += quote;
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

Status AppendRepr(const Value& v, std::string& out, int depth, bool top_level_str);

Status AppendDictRepr(const Dict& dict, std::string& out, int depth) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : dict.entries()) {
    if (!first) out += ", ";
    first = false;
    AppendStringRepr(key, out);
    out += ": ";
    RETURN_IF_ERROR(AppendRepr(value, out, depth + 1, /*top_level_str=*/false));
  }
  out += '}';
  return Status::Ok();
}

Status AppendRepr(const Value& v, std::string& out, int depth, bool top_level_str) {
  if (depth > kMaxValueDepth) return OutOfRange("value nested too deeply to print");
  using K = Value::Kind;
  switch (v.kind()) {
    case K::kUndefined:
      if (!top_level_str) out += "Undefined";
      break;
    case K::kNone:
      out += "None";
      break;
    case K::kBool:
      out += v.as_bool() ? "True" : "False";
      break;
    case K::kInt:
      out += std::to_string(v.as_int());
      break;
    case K::kFloat:
      out += FloatRepr(v.as_float());
      break;
    case K::kString:
      if (top_level_str) {
        out += v.as_string();
      } else {
        AppendStringRepr(v.as_string(), out);
      }
      break;
    case K::kList: {
      const auto& items = v.as_list();
      out += v.is_tuple() ? '(' : '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        RETURN_IF_ERROR(AppendRepr(items[i], out, depth + 1, /*top_level_str=*/false));
      }
      if (v.is_tuple() && items.size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      break;
    }
    case K::kDict:
      RETURN_IF_ERROR(AppendDictRepr(v.as_dict(), out, depth));
      break;
    case K::kNamespace:
      out += "<Namespace ";
      RETURN_IF_ERROR(AppendDictRepr(v.as_namespace().dict, out, depth));
      out += '>';
      break;
    case K::kCallable:
      out += "<function " + v.as_callable().name + ">";
      break;
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ToStr(const Value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  RETURN_IF_ERROR(AppendRepr(v, out, 0, /*top_level_str=*/true));
  return out;
}

Result<std::string> ToRepr(const Value& v) {
  std::string out;
  RETURN_IF_ERROR(AppendRepr(v, out, 0, /*top_level_str=*/false));
  return out;
}

}  // namespace ts::jinja
