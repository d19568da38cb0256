#include "text/jinja/filters.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

#include "text/jinja/args.h"
#include "text/jinja/json_convert.h"
#include "text/jinja/methods.h"
#include "text/jinja/operators.h"
#include "text/jinja/tests.h"
#include "text/jinja/utf8.h"

namespace ts::jinja {

namespace {

constexpr std::array<std::string_view, 40> kFilters = {
    "abs",      "attr",   "batch",      "capitalize", "count",    "d",       "default",
    "dictsort", "e",      "escape",     "first",      "float",    "indent",  "int",
    "items",    "join",   "last",       "length",     "list",     "lower",   "map",
    "max",      "min",    "reject",     "rejectattr", "replace",  "reverse", "round",
    "safe",     "select", "selectattr", "sort",       "string",   "sum",     "title",
    "tojson",   "trim",   "unique",     "upper",      "wordcount"};

// Jinja's ignore_case: strings compare lowercased unless case_sensitive.
Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(utf8::Lower(v.as_string()));
  return v;
}

bool FlagArg(const Value* v, bool fallback) { return v == nullptr ? fallback : v->IsTruthy(); }

// "a.b.0": Jinja's attribute getter (dotted, digits index lists) for map/sort/selectattr.
Result<Value> GetPath(Interpreter& in, const Value& item, const Value& path) {
  if (path.is_int()) return GetItem(in, item, path);
  if (!path.is_string()) return InvalidArgument("attribute must be a string or an integer");
  Value current = item;
  std::string_view rest = path.as_string();
  while (true) {
    size_t dot = rest.find('.');
    std::string part(rest.substr(0, dot));
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return c >= '0' && c <= '9';
    }) && part.size() < 18;
    Value key = numeric ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part);
    ASSIGN_OR_RETURN(current, GetItem(in, current, key));
    if (dot == std::string_view::npos) return current;
    rest = rest.substr(dot + 1);
  }
}

// Sorts values by key with Python's rules: all numbers or all strings (or all lists), else
// the comparison error Python would raise. Stable, as Python's sort is.
Status SortValues(std::vector<std::pair<Value, Value>>& keyed, bool reverse) {
  for (size_t i = 1; i < keyed.size(); ++i) {
    RETURN_IF_ERROR(Compare(keyed[0].first, keyed[i].first).status());
  }
  Status error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    auto c = reverse ? Compare(b.first, a.first) : Compare(a.first, b.first);
    if (!c.ok()) {
      if (error.ok()) error = c.status();
      return false;
    }
    return *c < 0;
  });
  return error;
}

Result<Value> Items(Interpreter& in, const Value& v) {
  if (v.is_undefined()) return in.MakeList({});
  if (!v.is_dict()) return InvalidArgument("items filter expects a mapping");
  std::vector<Value> out;
  for (const auto& [key, value] : v.as_dict().entries()) {
    ASSIGN_OR_RETURN(Value pair, in.MakeList({Value(key), value}, /*is_tuple=*/true));
    out.push_back(std::move(pair));
  }
  return in.MakeList(std::move(out));
}

Result<Value> Join(Interpreter& in, const Value& v, ArgReader& reader) {
  const Value* sep = reader.Get(0, "d");
  const Value* attribute = reader.Get(1, "attribute");
  RETURN_IF_ERROR(reader.Done());
  std::string separator;
  if (sep != nullptr) {
    ASSIGN_OR_RETURN(separator, ToStr(*sep));
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(item, GetPath(in, item, *attribute));
    }
    ASSIGN_OR_RETURN(std::string text, ToStr(item));
    if (i > 0) out += separator;
    out += text;
    if (out.size() > in.remaining_alloc_bytes()) {
      return ResourceExhausted("join result exceeds the render's memory limit");
    }
  }
  return in.MakeString(std::move(out));
}

// Jinja 3.1's indent: the first line and blank lines stay as they are unless asked.
Result<Value> Indent(Interpreter& in, const Value& v, ArgReader& reader) {
  const Value* width = reader.Get(0, "width");
  bool first = FlagArg(reader.Get(1, "first"), false);
  bool blank = FlagArg(reader.Get(2, "blank"), false);
  RETURN_IF_ERROR(reader.Done());
  std::string pad = "    ";
  if (width != nullptr && width->is_string()) {
    pad = width->as_string();
  } else if (width != nullptr && width->is_int()) {
    if (width->as_int() < 0 || width->as_int() > 1000) {
      return InvalidArgument("indent width must be between 0 and 1000");
    }
    pad.assign(static_cast<size_t>(width->as_int()), ' ');
  } else if (width != nullptr) {
    return InvalidArgument("indent width must be an integer or a string");
  }
  ASSIGN_OR_RETURN(std::string text, ToStr(v));
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  lines.push_back(text.substr(start));
  if (pad.size() > 0 && lines.size() > in.remaining_alloc_bytes() / pad.size()) {
    return ResourceExhausted("indent result exceeds the render's memory limit");
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    bool indent_line = i == 0 ? first : (blank || !lines[i].empty());
    if (indent_line) out += pad;
    out += lines[i];
  }
  return in.MakeString(std::move(out));
}

Result<Value> ToInt(const Value& v, ArgReader& reader) {
  const Value* fallback = reader.Get(0, "default");
  const Value* base_v = reader.Get(1, "base");
  RETURN_IF_ERROR(reader.Done());
  Value default_value = fallback != nullptr ? *fallback : Value(int64_t{0});
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(static_cast<int64_t>(v.as_bool()));
  if (v.is_float()) {
    double d = v.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return default_value;
    return Value(static_cast<int64_t>(d));
  }
  if (!v.is_string()) return default_value;
  int base = base_v != nullptr && base_v->is_int() ? static_cast<int>(base_v->as_int()) : 10;
  if (base < 2 || base > 36) return InvalidArgument("int() base must be between 2 and 36");
  std::string s;
  for (char c : utf8::Strip(v.as_string(), nullptr, true, true)) {
    if (c != '_') s += c;
  }
  if (s.empty()) return default_value;
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(s.c_str(), &end, base);
  if (errno == 0 && end == s.c_str() + s.size()) return Value(static_cast<int64_t>(parsed));
  // Jinja falls back to int(float(value)) for text like "3.7".
  double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) {
    return Value(static_cast<int64_t>(d));
  }
  return default_value;
}

Result<Value> ToFloat(const Value& v, ArgReader& reader) {
  const Value* fallback = reader.Get(0, "default");
  RETURN_IF_ERROR(reader.Done());
  Value default_value = fallback != nullptr ? *fallback : Value(0.0);
  if (v.is_number()) return Value(v.as_number());
  if (!v.is_string()) return default_value;
  std::string s(utf8::Strip(v.as_string(), nullptr, true, true));
  if (s.empty()) return default_value;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return default_value;
  return Value(d);
}

Result<Value> Round(const Value& v, ArgReader& reader) {
  const Value* precision_v = reader.Get(0, "precision");
  const Value* method_v = reader.Get(1, "method");
  RETURN_IF_ERROR(reader.Done());
  if (!v.is_number()) return InvalidArgument("round expects a number");
  int64_t precision = precision_v != nullptr && precision_v->is_int() ? precision_v->as_int() : 0;
  precision = std::clamp<int64_t>(precision, -300, 300);
  std::string method =
      method_v != nullptr && method_v->is_string() ? method_v->as_string() : "common";
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_number() * scale;
  if (method == "common") {
    // Python's round(): ties go to the even neighbour (the default rounding mode).
    x = std::nearbyint(x);
  } else if (method == "ceil") {
    x = std::ceil(x);
  } else if (method == "floor") {
    x = std::floor(x);
  } else {
    return InvalidArgument("method must be common, ceil or floor");
  }
  return Value(x / scale);
}

Result<Value> Tojson(Interpreter& in, const Value& v, ArgReader& reader) {
  const Value* indent = reader.Get(0, "indent");
  const Value* ensure_ascii = reader.Get(1, "ensure_ascii");
  const Value* separators = reader.Get(2, "separators");
  const Value* sort_keys = reader.Get(3, "sort_keys");
  RETURN_IF_ERROR(reader.Done());
  JsonDumpOptions options;
  if (indent != nullptr && !indent->is_none()) {
    if (!indent->is_int() || indent->as_int() < 0 || indent->as_int() > 1000) {
      return InvalidArgument("tojson indent must be an integer between 0 and 1000");
    }
    options.indent = static_cast<int>(indent->as_int());
  }
  options.ensure_ascii = FlagArg(ensure_ascii, false);
  options.sort_keys = FlagArg(sort_keys, false);
  if (separators != nullptr && !separators->is_none()) {
    if (!separators->is_list() || separators->as_list().size() != 2 ||
        !separators->as_list()[0].is_string() || !separators->as_list()[1].is_string()) {
      return InvalidArgument("tojson separators must be a pair of strings");
    }
    options.item_separator = separators->as_list()[0].as_string();
    options.key_separator = separators->as_list()[1].as_string();
  }
  options.max_bytes = in.remaining_alloc_bytes();
  ASSIGN_OR_RETURN(std::string json, ToJson(v, options));
  return in.MakeString(std::move(json));
}

// select/reject(test, args...) and selectattr/rejectattr(attribute, test, args...).
Result<Value> Select(Interpreter& in, const Value& v, CallArgs& args, bool by_attribute,
                     bool keep_when) {
  size_t first_test_arg = by_attribute ? 1 : 0;
  if (by_attribute && args.positional.empty()) {
    return InvalidArgument("selectattr/rejectattr need an attribute name");
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  const Value* test_name =
      args.positional.size() > first_test_arg ? &args.positional[first_test_arg] : nullptr;
  if (test_name != nullptr && !test_name->is_string()) {
    return InvalidArgument("test name must be a string");
  }
  CallArgs test_args;
  for (size_t i = first_test_arg + 1; i < args.positional.size(); ++i) {
    test_args.positional.push_back(args.positional[i]);
  }
  test_args.keyword = args.keyword;
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      ASSIGN_OR_RETURN(subject, GetPath(in, item, args.positional[0]));
    }
    bool passed = false;
    if (test_name == nullptr) {
      passed = subject.IsTruthy();
    } else {
      CallArgs call = test_args;
      ASSIGN_OR_RETURN(passed, ApplyTest(test_name->as_string(), subject, call));
    }
    if (passed == keep_when) out.push_back(item);
  }
  return in.MakeList(std::move(out));
}

Result<Value> Map(Interpreter& in, const Value& v, CallArgs& args) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::vector<Value> out;
  out.reserve(items.size());
  const Value* attribute = nullptr;
  const Value* fallback = nullptr;
  for (const auto& [key, value] : args.keyword) {
    if (key == "attribute") attribute = &value;
    if (key == "default") fallback = &value;
  }
  if (attribute != nullptr) {
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Value mapped, GetPath(in, item, *attribute));
      if (mapped.is_undefined() && fallback != nullptr) mapped = *fallback;
      out.push_back(std::move(mapped));
    }
    return in.MakeList(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) {
    return InvalidArgument("map needs a filter name or attribute=");
  }
  std::string filter = args.positional[0].as_string();
  CallArgs filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keyword = args.keyword;
  for (const Value& item : items) {
    CallArgs call = filter_args;
    ASSIGN_OR_RETURN(Value mapped, ApplyFilter(in, filter, item, call));
    out.push_back(std::move(mapped));
  }
  return in.MakeList(std::move(out));
}

Result<Value> Sort(Interpreter& in, const Value& v, ArgReader& reader) {
  bool reverse = FlagArg(reader.Get(0, "reverse"), false);
  bool case_sensitive = FlagArg(reader.Get(1, "case_sensitive"), false);
  const Value* attribute = reader.Get(2, "attribute");
  RETURN_IF_ERROR(reader.Done());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    Value key = item;
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(key, GetPath(in, item, *attribute));
    }
    keyed.emplace_back(SortKey(key, case_sensitive), item);
  }
  RETURN_IF_ERROR(SortValues(keyed, reverse));
  std::vector<Value> out;
  for (auto& [key, item] : keyed) out.push_back(std::move(item));
  return in.MakeList(std::move(out));
}

Result<Value> Dictsort(Interpreter& in, const Value& v, ArgReader& reader) {
  bool case_sensitive = FlagArg(reader.Get(0, "case_sensitive"), false);
  const Value* by = reader.Get(1, "by");
  bool reverse = FlagArg(reader.Get(2, "reverse"), false);
  RETURN_IF_ERROR(reader.Done());
  if (!v.is_dict()) return InvalidArgument("dictsort expects a mapping");
  bool by_value = by != nullptr && by->is_string() && by->as_string() == "value";
  if (by != nullptr && !by_value && !(by->is_string() && by->as_string() == "key")) {
    return InvalidArgument("You can only sort by either \"key\" or \"value\"");
  }
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& [key, value] : v.as_dict().entries()) {
    ASSIGN_OR_RETURN(Value pair, in.MakeList({Value(key), value}, /*is_tuple=*/true));
    keyed.emplace_back(SortKey(by_value ? value : Value(key), case_sensitive), std::move(pair));
  }
  RETURN_IF_ERROR(SortValues(keyed, reverse));
  std::vector<Value> out;
  for (auto& [key, pair] : keyed) out.push_back(std::move(pair));
  return in.MakeList(std::move(out));
}

Result<Value> Unique(Interpreter& in, const Value& v, ArgReader& reader) {
  bool case_sensitive = FlagArg(reader.Get(0, "case_sensitive"), false);
  const Value* attribute = reader.Get(1, "attribute");
  RETURN_IF_ERROR(reader.Done());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::unordered_set<std::string> seen;
  std::vector<Value> out;
  for (const Value& item : items) {
    Value key = item;
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(key, GetPath(in, item, *attribute));
    }
    ASSIGN_OR_RETURN(std::string repr, ToRepr(SortKey(key, case_sensitive)));
    if (seen.insert(std::move(repr)).second) out.push_back(item);
  }
  return in.MakeList(std::move(out));
}

Result<Value> MinMax(Interpreter& in, const Value& v, ArgReader& reader, bool want_max) {
  bool case_sensitive = FlagArg(reader.Get(0, "case_sensitive"), false);
  const Value* attribute = reader.Get(1, "attribute");
  RETURN_IF_ERROR(reader.Done());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  if (items.empty()) return Value::MakeUndefined("No aggregated item, sequence was empty.");
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    Value key = item;
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(key, GetPath(in, item, *attribute));
    }
    keyed.emplace_back(SortKey(key, case_sensitive), item);
  }
  RETURN_IF_ERROR(SortValues(keyed, /*reverse=*/false));
  return want_max ? keyed.back().second : keyed.front().second;
}

Result<Value> Sum(Interpreter& in, const Value& v, ArgReader& reader) {
  const Value* attribute = reader.Get(0, "attribute");
  const Value* start = reader.Get(1, "start");
  RETURN_IF_ERROR(reader.Done());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  Value total = start != nullptr ? *start : Value(int64_t{0});
  for (const Value& item : items) {
    Value term = item;
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(term, GetPath(in, item, *attribute));
    }
    ASSIGN_OR_RETURN(total, BinaryOperation(in, ast::BinaryOp::kAdd, total, term));
  }
  return total;
}

Result<Value> Batch(Interpreter& in, const Value& v, ArgReader& reader) {
  const Value* size_v = reader.Get(0, "linecount");
  const Value* fill = reader.Get(1, "fill_with");
  RETURN_IF_ERROR(reader.Done());
  if (size_v == nullptr || !size_v->is_int() || size_v->as_int() <= 0) {
    return InvalidArgument("batch needs a positive line count");
  }
  size_t size = static_cast<size_t>(size_v->as_int());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::vector<Value> out;
  for (size_t i = 0; i < items.size(); i += size) {
    std::vector<Value> row(items.begin() + i, items.begin() + std::min(items.size(), i + size));
    while (fill != nullptr && !fill->is_none() && row.size() < size) row.push_back(*fill);
    ASSIGN_OR_RETURN(Value batch, in.MakeList(std::move(row)));
    out.push_back(std::move(batch));
  }
  return in.MakeList(std::move(out));
}

Result<Value> Escape(Interpreter& in, const Value& v) {
  ASSIGN_OR_RETURN(std::string text, ToStr(v));
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return in.MakeString(std::move(out));
}

Result<Value> FirstOrLast(Interpreter& in, const Value& v, bool last) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  if (items.empty()) return Value::MakeUndefined("No first item, sequence was empty.");
  return last ? items.back() : items.front();
}

Result<Value> Reverse(Interpreter& in, const Value& v) {
  if (v.is_string()) {
    std::vector<size_t> offsets = utf8::Offsets(v.as_string());
    std::string out;
    for (size_t i = offsets.size() - 1; i > 0; --i) {
      out.append(v.as_string(), offsets[i - 1], offsets[i] - offsets[i - 1]);
    }
    return in.MakeString(std::move(out));
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
  std::reverse(items.begin(), items.end());
  return in.MakeList(std::move(items));
}

Result<Value> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return Value(int64_t{0});
    case Value::Kind::kString:
      return Value(static_cast<int64_t>(utf8::Length(v.as_string())));
    case Value::Kind::kList:
      return Value(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::kDict:
      return Value(static_cast<int64_t>(v.as_dict().size()));
    default:
      return InvalidArgument(std::string("object of type '") + std::string(v.TypeName()) +
                             "' has no len()");
  }
}

// Filters that apply a str method to str(value).
Result<Value> StringMethod(Interpreter& in, const Value& v, std::string_view method,
                           CallArgs& args) {
  ASSIGN_OR_RETURN(std::string text, ToStr(v));
  return CallMethod(in, Value(std::move(text)), method, args);
}

}  // namespace

bool IsFilter(std::string_view name) {
  return std::find(kFilters.begin(), kFilters.end(), name) != kFilters.end();
}

Result<Value> ApplyFilter(Interpreter& in, std::string_view name, const Value& v, CallArgs& args) {
  if (!IsFilter(name))
    return InvalidArgument(std::string("unknown filter '") + std::string(name) + "'");
  ArgReader reader(args, name);
  if (name == "tojson") return Tojson(in, v, reader);
  if (name == "trim" || name == "upper" || name == "lower" || name == "title" ||
      name == "capitalize" || name == "replace") {
    return StringMethod(in, v, name == "trim" ? "strip" : name, args);
  }
  if (name == "length" || name == "count") {
    RETURN_IF_ERROR(reader.Done());
    return Length(v);
  }
  if (name == "join") return Join(in, v, reader);
  if (name == "items") {
    RETURN_IF_ERROR(reader.Done());
    return Items(in, v);
  }
  if (name == "default" || name == "d") {
    const Value* fallback = reader.Get(0, "default_value");
    bool boolean = FlagArg(reader.Get(1, "boolean"), false);
    RETURN_IF_ERROR(reader.Done());
    if (v.is_undefined() || (boolean && !v.IsTruthy())) {
      return fallback != nullptr ? *fallback : Value("");
    }
    return v;
  }
  if (name == "first" || name == "last") {
    RETURN_IF_ERROR(reader.Done());
    return FirstOrLast(in, v, name == "last");
  }
  if (name == "list") {
    RETURN_IF_ERROR(reader.Done());
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, v));
    return in.MakeList(std::move(items));
  }
  if (name == "string") {
    RETURN_IF_ERROR(reader.Done());
    ASSIGN_OR_RETURN(std::string text, ToStr(v));
    return in.MakeString(std::move(text));
  }
  if (name == "safe") {
    RETURN_IF_ERROR(reader.Done());
    return v;
  }
  if (name == "e" || name == "escape") {
    RETURN_IF_ERROR(reader.Done());
    return Escape(in, v);
  }
  if (name == "int") return ToInt(v, reader);
  if (name == "float") return ToFloat(v, reader);
  if (name == "abs") {
    RETURN_IF_ERROR(reader.Done());
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.is_int() && v.as_int() < 0) return Negate(v, /*minus=*/true);
    if (v.is_int() || v.is_bool()) return Value(static_cast<int64_t>(v.as_number()));
    return InvalidArgument(std::string("bad operand type for abs(): '") +
                           std::string(v.TypeName()) + "'");
  }
  if (name == "round") return Round(v, reader);
  if (name == "indent") return Indent(in, v, reader);
  if (name == "wordcount") {
    RETURN_IF_ERROR(reader.Done());
    ASSIGN_OR_RETURN(std::string text, ToStr(v));
    ASSIGN_OR_RETURN(std::vector<std::string> words, SplitString(text, nullptr, -1));
    return Value(static_cast<int64_t>(words.size()));
  }
  if (name == "select" || name == "reject") return Select(in, v, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") {
    return Select(in, v, args, true, name == "selectattr");
  }
  if (name == "map") return Map(in, v, args);
  if (name == "sort") return Sort(in, v, reader);
  if (name == "dictsort") return Dictsort(in, v, reader);
  if (name == "unique") return Unique(in, v, reader);
  if (name == "reverse") {
    RETURN_IF_ERROR(reader.Done());
    return Reverse(in, v);
  }
  if (name == "min" || name == "max") return MinMax(in, v, reader, name == "max");
  if (name == "sum") return Sum(in, v, reader);
  if (name == "batch") return Batch(in, v, reader);
  const Value* attribute = reader.Get(0, "name");
  RETURN_IF_ERROR(reader.Done());
  if (attribute == nullptr || !attribute->is_string()) {
    return InvalidArgument("attr needs an attribute name");
  }
  return GetAttribute(v, attribute->as_string());
}

}  // namespace ts::jinja
