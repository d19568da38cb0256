#include "text/jinja/json_convert.h"

#include <algorithm>
#include <cstdio>

#include "text/jinja/utf8.h"

namespace ts::jinja {

namespace {

template <typename Json>
Result<Value> FromJsonImpl(const Json& json, int depth) {
  if (depth > kMaxValueDepth) return OutOfRange("JSON nested too deeply");
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Value::MakeNone();
    case nlohmann::json::value_t::boolean:
      return Value(json.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = json.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(json.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) {
        ASSIGN_OR_RETURN(Value v, FromJsonImpl(item, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::MakeList(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict dict;
      for (auto it = json.begin(); it != json.end(); ++it) {
        ASSIGN_OR_RETURN(Value v, FromJsonImpl(it.value(), depth + 1));
        dict.Set(it.key(), std::move(v));
      }
      return Value::MakeDict(std::move(dict));
    }
    case nlohmann::json::value_t::binary:
      return InvalidArgument("binary JSON values are not supported");
  }
  return InvalidArgument("unknown JSON value");
}

void AppendJsonString(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  char buf[16];
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    char32_t cp = utf8::Next(s, pos);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7f)) {
      if (cp >= 0x10000) {
        char32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                      static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
    } else {
      out.append(s, start, pos - start);
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonDumpOptions& options) : options_(options) {
    bool indenting = options.indent.has_value();
    item_sep_ = options.item_separator.value_or(indenting ? "," : ", ");
    key_sep_ = options.key_separator.value_or(": ");
  }

  Status Write(const Value& v, int depth, std::string& out) {
    if (depth > kMaxValueDepth) return OutOfRange("value nested too deeply for tojson");
    if (out.size() > options_.max_bytes) return ResourceExhausted("tojson output too large");
    switch (v.kind()) {
      case Value::Kind::kNone:
        out += "null";
        return Status::Ok();
      case Value::Kind::kBool:
        out += v.as_bool() ? "true" : "false";
        return Status::Ok();
      case Value::Kind::kInt:
        out += std::to_string(v.as_int());
        return Status::Ok();
      case Value::Kind::kFloat:
        out += JsonFloat(v.as_float());
        return Status::Ok();
      case Value::Kind::kString:
        AppendJsonString(v.as_string(), options_.ensure_ascii, out);
        return Status::Ok();
      case Value::Kind::kList: {
        const auto& items = v.as_list();
        if (items.empty()) {
          out += "[]";
          return Status::Ok();
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out += item_sep_;
          NewLine(depth + 1, out);
          RETURN_IF_ERROR(Write(items[i], depth + 1, out));
        }
        NewLine(depth, out);
        out += ']';
        return Status::Ok();
      }
      case Value::Kind::kDict: {
        const Dict& dict = v.as_dict();
        if (dict.empty()) {
          out += "{}";
          return Status::Ok();
        }
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& entry : dict.entries()) entries.push_back(&entry);
        if (options_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(),
                           [](const auto* a, const auto* b) { return a->first < b->first; });
        }
        out += '{';
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i > 0) out += item_sep_;
          NewLine(depth + 1, out);
          AppendJsonString(entries[i]->first, options_.ensure_ascii, out);
          out += key_sep_;
          RETURN_IF_ERROR(Write(entries[i]->second, depth + 1, out));
        }
        NewLine(depth, out);
        out += '}';
        return Status::Ok();
      }
      default:
        return InvalidArgument(std::string("Object of type ") + std::string(v.TypeName()) +
                               " is not JSON serializable");
    }
  }

 private:
  // Python writes NaN and Infinity (not valid JSON, but what json.dumps does).
  static std::string JsonFloat(double d) {
    std::string repr = FloatRepr(d);
    if (repr == "nan") return "NaN";
    if (repr == "inf") return "Infinity";
    if (repr == "-inf") return "-Infinity";
    return repr;
  }

  void NewLine(int depth, std::string& out) const {
    if (!options_.indent.has_value()) return;
    out += '\n';
    // Past the limit, Write() fails at its next check; never allocate far beyond it.
    size_t pad = std::min(static_cast<size_t>(*options_.indent) * depth, options_.max_bytes);
    out.append(pad, ' ');
  }

  const JsonDumpOptions& options_;
  std::string item_sep_;
  std::string key_sep_;
};

}  // namespace

Result<Value> FromJson(const nlohmann::ordered_json& json) { return FromJsonImpl(json, 0); }
Result<Value> FromJson(const nlohmann::json& json) { return FromJsonImpl(json, 0); }

Result<std::string> ToJson(const Value& value, const JsonDumpOptions& options) {
  if (options.indent.has_value() && *options.indent < 0) {
    return InvalidArgument("tojson indent must not be negative");
  }
  std::string out;
  JsonWriter writer(options);
  RETURN_IF_ERROR(writer.Write(value, 0, out));
  if (out.size() > options.max_bytes) return ResourceExhausted("tojson output too large");
  return out;
}

}  // namespace ts::jinja
