// A plain JSON Schema validator for the subset json_schema_compiler.h supports: the test oracle
// for constrained decoding (written independently of the grammar, straight from the spec).
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/regex.h"

namespace ts::testing {

class SchemaValidator {
 public:
  explicit SchemaValidator(const nlohmann::json& root) : root_(root) {}

  // Empty when `v` is valid, else where and why it is not.
  std::string Check(const nlohmann::json& v) const { return Check(v, root_, "$"); }

 private:
  using json = nlohmann::json;

  const json& Resolve(const std::string& ref) const {
    if (ref == "#") return root_;
    const size_t slash = ref.rfind('/');
    const std::string section = ref.substr(2, slash - 2);
    return root_.at(section).at(ref.substr(slash + 1));
  }

  // regex_search semantics with PCRE2 (std::regex trips g++ 12 warnings under sanitizers).
  static bool Search(const std::string& pattern, const std::string& text) {
    auto regex = text::Regex::Compile(pattern);
    std::vector<text::MatchSpan> matches;
    return regex.ok() && regex->FindAll(text, &matches).ok() && !matches.empty();
  }

  static bool IsType(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") {
      return v.is_number_integer() ||
             (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    }
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

  std::string Check(const json& v, const json& s, const std::string& at) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": false schema";
    if (s.value("nullable", false) && v.is_null()) return "";
    if (s.contains("$ref")) return Check(v, Resolve(s["$ref"].get<std::string>()), at);
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      int matches = 0;
      for (const json& alt : s[key]) matches += Check(v, alt, at).empty() ? 1 : 0;
      if (matches == 0) return at + ": matches no " + key + " alternative";
      if (std::string(key) == "oneOf" && matches > 1)
        return at + ": matches several oneOf alternatives";
    }
    if (s.contains("const") && v != s["const"]) return at + ": not the const";
    if (s.contains("enum")) {
      bool found = false;
      for (const json& e : s["enum"]) found = found || e == v;
      if (!found) return at + ": not in enum";
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string()) {
        ok = IsType(v, s["type"].get<std::string>());
      } else {
        for (const json& t : s["type"]) ok = ok || IsType(v, t.get<std::string>());
      }
      if (!ok) return at + ": wrong type";
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const json& r : s["required"]) {
          if (!v.contains(r.get<std::string>())) return at + ": missing " + r.get<std::string>();
        }
      }
      for (const auto& [key, value] : v.items()) {
        if (s.contains("properties") && s["properties"].contains(key)) {
          std::string e = Check(value, s["properties"][key], at + "." + key);
          if (!e.empty()) return e;
        } else if (s.contains("additionalProperties")) {
          std::string e = Check(value, s["additionalProperties"], at + "." + key);
          if (!e.empty()) return e;
        }
      }
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        return at + ": too few items";
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
        return at + ": too many items";
      if (s.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i) {
          std::string e = Check(v[i], s["items"], at + "[" + std::to_string(i) + "]");
          if (!e.empty()) return e;
        }
      }
    }
    if (v.is_number()) {
      const double x = v.get<double>();
      if (s.contains("minimum") && x < s["minimum"].get<double>()) return at + ": below minimum";
      if (s.contains("maximum") && x > s["maximum"].get<double>()) return at + ": above maximum";
      if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>())
        return at + ": not above exclusiveMinimum";
      if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>())
        return at + ": not below exclusiveMaximum";
    }
    if (v.is_string()) {
      const std::string str = v.get<std::string>();
      // Lengths in code points, as the spec counts them.
      size_t length = 0;
      for (char c : str) length += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
      if (s.contains("minLength") && length < s["minLength"].get<size_t>())
        return at + ": shorter than minLength";
      if (s.contains("maxLength") && length > s["maxLength"].get<size_t>())
        return at + ": longer than maxLength";
      if (s.contains("pattern") && !Search(s["pattern"].get<std::string>(), str)) {
        return at + ": does not match the pattern";
      }
      if (s.contains("format")) {
        static const std::map<std::string, std::string> kFormats = {
            {"date", R"(^\d{4}-\d{2}-\d{2}$)"},
            {"time", R"(^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$)"},
            {"date-time", R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)"},
            {"uuid",
             R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"}};
        const std::string f = s["format"].get<std::string>();
        if (!Search(kFormats.at(f), str)) return at + ": not a " + f;
      }
    }
    return "";
  }

  const json& root_;
};

}  // namespace ts::testing
