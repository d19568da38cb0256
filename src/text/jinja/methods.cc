#include "text/jinja/methods.h"

#include <algorithm>
#include <array>

#include "text/jinja/args.h"
#include "text/jinja/utf8.h"

namespace ts::jinja {

namespace {

constexpr std::array<std::string_view, 25> kStringMethods = {
    "upper",   "lower",   "title",      "capitalize", "strip",    "lstrip",  "rstrip",
    "split",   "rsplit",  "splitlines", "startswith", "endswith", "replace", "find",
    "rfind",   "count",   "join",       "isdigit",    "isalpha",  "isalnum", "isspace",
    "islower", "isupper", "index",      "swapcase"};
constexpr std::array<std::string_view, 4> kDictMethods = {"get", "items", "keys", "values"};
constexpr std::array<std::string_view, 2> kListMethods = {"index", "count"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Result<std::string> StringArg(const Value* v, std::string_view what) {
  if (v == nullptr || !v->is_string()) {
    return InvalidArgument(std::string(what) + " must be a string");
  }
  return v->as_string();
}

Result<int64_t> IntArg(const Value* v, int64_t fallback, std::string_view what) {
  if (v == nullptr || v->is_none()) return fallback;
  if (v->is_int()) return v->as_int();
  if (v->is_bool()) return static_cast<int64_t>(v->as_bool());
  return InvalidArgument(std::string(what) + " must be an integer");
}

// startswith/endswith take a string or a tuple of strings.
Result<bool> AffixMatch(const std::string& s, const Value* arg, bool prefix) {
  auto match = [&](const std::string& affix) {
    if (affix.size() > s.size()) return false;
    return prefix ? s.compare(0, affix.size(), affix) == 0
                  : s.compare(s.size() - affix.size(), affix.size(), affix) == 0;
  };
  if (arg != nullptr && arg->is_string()) return match(arg->as_string());
  if (arg != nullptr && arg->is_list()) {
    for (const Value& item : arg->as_list()) {
      if (!item.is_string()) return InvalidArgument("tuple for startswith/endswith must hold str");
      if (match(item.as_string())) return true;
    }
    return false;
  }
  return InvalidArgument("startswith/endswith argument must be str or a tuple of str");
}

template <typename Pred>
bool AllCodePoints(const std::string& s, Pred pred) {
  if (s.empty()) return false;
  for (size_t pos = 0; pos < s.size();) {
    if (!pred(utf8::Next(s, pos))) return false;
  }
  return true;
}

std::string TitleCase(const std::string& s, bool capitalize_only) {
  std::string out;
  bool previous_cased = false;
  bool first = true;
  for (size_t pos = 0; pos < s.size();) {
    char32_t cp = utf8::Next(s, pos);
    bool upper = capitalize_only ? first : !previous_cased;
    utf8::Append(upper ? utf8::ToUpper(cp) : utf8::ToLower(cp), out);
    previous_cased = utf8::IsAlpha(cp);
    first = false;
  }
  return out;
}

Result<std::string> Replace(Interpreter& in, const std::string& s, const std::string& from,
                            const std::string& to, int64_t count) {
  std::string out;
  int64_t done = 0;
  auto room = [&](size_t more) -> Status {
    if (out.size() + more > in.remaining_alloc_bytes()) {
      return ResourceExhausted("replace() result exceeds the render's memory limit");
    }
    return Status::Ok();
  };
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    for (size_t pos = 0; pos <= s.size();) {
      if (count < 0 || done < count) {
        RETURN_IF_ERROR(room(to.size()));
        out += to;
        ++done;
      }
      if (pos == s.size()) break;
      size_t start = pos;
      utf8::Next(s, pos);
      out.append(s, start, pos - start);
    }
    return out;
  }
  size_t pos = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    RETURN_IF_ERROR(room(hit - pos + to.size()));
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  RETURN_IF_ERROR(room(s.size() - pos));
  out.append(s, pos, std::string::npos);
  return out;
}

Result<Value> StringList(Interpreter& in, std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& part : parts) items.emplace_back(std::move(part));
  return in.MakeList(std::move(items));
}

Result<Value> CallStringMethod(Interpreter& in, const std::string& s, std::string_view name,
                               CallArgs& args) {
  ArgReader reader(args, name);
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
      name == "swapcase") {
    RETURN_IF_ERROR(reader.Done());
    if (name == "upper") return in.MakeString(utf8::Upper(s));
    if (name == "lower") return in.MakeString(utf8::Lower(s));
    if (name == "title") return in.MakeString(TitleCase(s, /*capitalize_only=*/false));
    if (name == "capitalize") return in.MakeString(TitleCase(s, /*capitalize_only=*/true));
    std::string out;
    for (size_t pos = 0; pos < s.size();) {
      char32_t cp = utf8::Next(s, pos);
      char32_t upper = utf8::ToUpper(cp);
      utf8::Append(upper != cp ? upper : utf8::ToLower(cp), out);
    }
    return in.MakeString(std::move(out));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = reader.Get(0, "chars");
    RETURN_IF_ERROR(reader.Done());
    const std::string* set = nullptr;
    if (chars != nullptr && !chars->is_none()) {
      if (!chars->is_string()) return InvalidArgument(std::string(name) + " arg must be str");
      set = &chars->as_string();
    }
    return in.MakeString(std::string(utf8::Strip(s, set, name != "rstrip", name != "lstrip")));
  }
  if (name == "split" || name == "rsplit") {
    const Value* sep = reader.Get(0, "sep");
    ASSIGN_OR_RETURN(int64_t maxsplit, IntArg(reader.Get(1, "maxsplit"), -1, "maxsplit"));
    RETURN_IF_ERROR(reader.Done());
    bool by_whitespace = sep == nullptr || sep->is_none();
    if (name == "rsplit" && maxsplit >= 0 && by_whitespace) {
      return Unimplemented("rsplit() on whitespace with maxsplit is not supported");
    }
    if (name == "rsplit" && maxsplit >= 0) {
      // Split the reversed problem: find separators from the right.
      const std::string& d = sep->as_string();
      if (d.empty()) return InvalidArgument("empty separator");
      std::vector<std::string> parts;
      size_t end = s.size();
      while (static_cast<int64_t>(parts.size()) < maxsplit) {
        if (end < d.size()) break;
        size_t hit = s.rfind(d, end - d.size());
        if (hit == std::string::npos) break;
        parts.push_back(s.substr(hit + d.size(), end - hit - d.size()));
        end = hit;
      }
      parts.push_back(s.substr(0, end));
      std::reverse(parts.begin(), parts.end());
      return StringList(in, std::move(parts));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitString(s, sep, maxsplit));
    return StringList(in, std::move(parts));
  }
  if (name == "splitlines") {
    RETURN_IF_ERROR(reader.Done());
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        parts.push_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size()) parts.push_back(s.substr(start));
    return StringList(in, std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = reader.Get(0, "prefix");
    RETURN_IF_ERROR(reader.Done());
    ASSIGN_OR_RETURN(bool hit, AffixMatch(s, affix, name == "startswith"));
    return Value(hit);
  }
  if (name == "replace") {
    ASSIGN_OR_RETURN(std::string from, StringArg(reader.Get(0, "old"), "replace() old"));
    ASSIGN_OR_RETURN(std::string to, StringArg(reader.Get(1, "new"), "replace() new"));
    ASSIGN_OR_RETURN(int64_t count, IntArg(reader.Get(2, "count"), -1, "count"));
    RETURN_IF_ERROR(reader.Done());
    ASSIGN_OR_RETURN(std::string out, Replace(in, s, from, to, count));
    return in.MakeString(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "count") {
    ASSIGN_OR_RETURN(std::string sub, StringArg(reader.Get(0, "sub"), std::string(name) + "()"));
    RETURN_IF_ERROR(reader.Done());
    if (name == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(utf8::Length(s) + 1));
      int64_t n = 0;
      for (size_t pos = s.find(sub); pos != std::string::npos;
           pos = s.find(sub, pos + sub.size())) {
        ++n;
      }
      return Value(n);
    }
    size_t hit = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (hit == std::string::npos) {
      if (name == "index") return InvalidArgument("substring not found");
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(utf8::Length(std::string_view(s).substr(0, hit))));
  }
  if (name == "join") {
    const Value* items = reader.Get(0, "iterable");
    RETURN_IF_ERROR(reader.Done());
    if (items == nullptr || !items->is_list()) return InvalidArgument("join() needs a list");
    std::string out;
    bool first = true;
    for (const Value& item : items->as_list()) {
      if (!item.is_string()) return InvalidArgument("join() expects a list of str");
      if (!first) out += s;
      first = false;
      out += item.as_string();
      if (out.size() > in.remaining_alloc_bytes()) {
        return ResourceExhausted("join() result exceeds the render's memory limit");
      }
    }
    return in.MakeString(std::move(out));
  }
  RETURN_IF_ERROR(reader.Done());
  if (name == "isdigit") return Value(AllCodePoints(s, utf8::IsDigit));
  if (name == "isalpha") return Value(AllCodePoints(s, utf8::IsAlpha));
  if (name == "isalnum") {
    return Value(AllCodePoints(s, [](char32_t c) { return utf8::IsAlpha(c) || utf8::IsDigit(c); }));
  }
  if (name == "isspace") return Value(AllCodePoints(s, utf8::IsSpace));
  if (name == "islower") return Value(utf8::CaseIs(s, /*lower=*/true));
  return Value(utf8::CaseIs(s, /*lower=*/false));
}

Result<Value> CallDictMethod(Interpreter& in, const Dict& dict, std::string_view name,
                             CallArgs& args) {
  ArgReader reader(args, name);
  if (name == "get") {
    const Value* key = reader.Get(0, "key");
    const Value* fallback = reader.Get(1, "default");
    RETURN_IF_ERROR(reader.Done());
    if (key == nullptr) return InvalidArgument("get() takes at least 1 argument");
    const Value* found = key->is_string() ? dict.Find(key->as_string()) : nullptr;
    if (found != nullptr) return *found;
    return fallback != nullptr ? *fallback : Value::MakeNone();
  }
  RETURN_IF_ERROR(reader.Done());
  std::vector<Value> out;
  out.reserve(dict.size());
  for (const auto& [key, value] : dict.entries()) {
    if (name == "keys") {
      out.emplace_back(key);
    } else if (name == "values") {
      out.push_back(value);
    } else {
      ASSIGN_OR_RETURN(Value pair, in.MakeList({Value(key), value}, /*is_tuple=*/true));
      out.push_back(std::move(pair));
    }
  }
  return in.MakeList(std::move(out));
}

Result<Value> CallListMethod(const std::vector<Value>& items, std::string_view name,
                             CallArgs& args) {
  ArgReader reader(args, name);
  const Value* x = reader.Get(0, "value");
  RETURN_IF_ERROR(reader.Done());
  if (x == nullptr) return InvalidArgument(std::string(name) + "() takes exactly one argument");
  int64_t count = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(bool eq, Equals(items[i], *x));
    if (!eq) continue;
    if (name == "index") return Value(static_cast<int64_t>(i));
    ++count;
  }
  if (name == "index") return InvalidArgument("value is not in list");
  return Value(count);
}

}  // namespace

bool HasMethod(const Value& obj, std::string_view name) {
  if (obj.is_string()) return Contains(kStringMethods, name);
  if (obj.is_dict()) return Contains(kDictMethods, name);
  if (obj.is_list()) return Contains(kListMethods, name);
  return false;
}

Result<Value> CallMethod(Interpreter& in, const Value& obj, std::string_view name, CallArgs& args) {
  if (obj.is_string()) return CallStringMethod(in, obj.as_string(), name, args);
  if (obj.is_dict()) return CallDictMethod(in, obj.as_dict(), name, args);
  return CallListMethod(obj.as_list(), name, args);
}

Result<std::vector<std::string>> SplitString(std::string_view s, const Value* sep,
                                             int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep == nullptr || sep->is_none()) {
    size_t pos = 0;
    while (true) {
      // Skip whitespace, then take a run of non-whitespace.
      while (pos < s.size()) {
        size_t next = pos;
        if (!utf8::IsSpace(utf8::Next(s, next))) break;
        pos = next;
      }
      if (pos >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        parts.emplace_back(s.substr(pos));
        break;
      }
      size_t start = pos;
      while (pos < s.size()) {
        size_t next = pos;
        if (utf8::IsSpace(utf8::Next(s, next))) break;
        pos = next;
      }
      parts.emplace_back(s.substr(start, pos - start));
    }
    return parts;
  }
  if (!sep->is_string()) return InvalidArgument("must be str or None");
  const std::string& d = sep->as_string();
  if (d.empty()) return InvalidArgument("empty separator");
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    size_t hit = s.find(d, pos);
    if (hit == std::string_view::npos) break;
    parts.emplace_back(s.substr(pos, hit - pos));
    pos = hit + d.size();
  }
  parts.emplace_back(s.substr(pos));
  return parts;
}

}  // namespace ts::jinja
