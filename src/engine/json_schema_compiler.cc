#include "engine/json_schema_compiler.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/string_pattern.h"

namespace ts {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kMaxMagnitude = 999999999999999999;  // 18 digits (grammar.h)

// Keywords that describe without constraining.
const std::set<std::string>& Annotations() {
  static const auto* kSet = new std::set<std::string>{
      "title",      "description", "default",   "examples", "$schema", "$id",   "$comment",
      "deprecated", "readOnly",    "writeOnly", "strict",   "name",    "$defs", "definitions"};
  return *kSet;
}

const std::set<std::string>& Supported() {
  static const auto* kSet = new std::set<std::string>{"type",
                                                      "properties",
                                                      "required",
                                                      "additionalProperties",
                                                      "items",
                                                      "minItems",
                                                      "maxItems",
                                                      "enum",
                                                      "const",
                                                      "pattern",
                                                      "minLength",
                                                      "maxLength",
                                                      "format",
                                                      "minimum",
                                                      "maximum",
                                                      "exclusiveMinimum",
                                                      "exclusiveMaximum",
                                                      "anyOf",
                                                      "oneOf",
                                                      "$ref",
                                                      "nullable"};
  return *kSet;
}

// Regular expressions for the supported string formats.
const std::map<std::string, std::string>& Formats() {
  static const auto* kMap = new std::map<std::string, std::string>{
      {"date", R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$)"},
      {"time", R"(^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$)"},
      {"date-time",
       R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$)"},
      {"uuid", R"(^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)"},
  };
  return *kMap;
}

// A string enum/const value outside minLength/maxLength is not generated (values of other
// types are: the length keywords apply to strings only). Lengths count code points.
bool FitsLength(const json& v, const json& s) {
  if (!v.is_string()) return true;
  int64_t length = 0;
  for (char c : v.get_ref<const std::string&>()) {
    if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) ++length;
  }
  auto bound = [&](const char* key) -> std::optional<double> {
    if (!s.contains(key) || !s[key].is_number()) return std::nullopt;
    return s[key].get<double>();
  };
  const std::optional<double> min = bound("minLength"), max = bound("maxLength");
  return (!min || static_cast<double>(length) >= *min) &&
         (!max || static_cast<double>(length) <= *max);
}

bool MatchesType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer")
    return v.is_number_integer() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return false;
}

}  // namespace

class GrammarBuilder::Impl {
 public:
  Impl() {
    GrammarNode s;
    s.kind = GrammarNodeKind::kString;
    free_string_ = Add(std::move(s));
  }

  Result<int32_t> AddSchema(const json& schema) {
    document_ = &schema;
    ++document_id_;
    return Compile(schema, 0, "#");
  }

  int32_t AddText(std::string text) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kLiterals;
    n.literals.push_back(std::move(text));
    return Add(std::move(n));
  }

  int32_t AddGroup(GrammarNodeKind kind, std::vector<int32_t> children) {
    GrammarNode n;
    n.kind = kind;
    n.children = std::move(children);
    return Add(std::move(n));
  }

  int32_t AddObject(std::vector<std::pair<std::string, int32_t>> properties) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kObject;
    for (auto& [key, value] : properties) n.properties.push_back({json(key).dump(), value, true});
    return Add(std::move(n));
  }

  // items := item tail; tail := "" | separator items. The recursion is in last position, so
  // the recognizer's depth stays constant however many items come (grammar.cc).
  int32_t AddOneOrMore(int32_t item, std::string separator) {
    const int32_t items = AddGroup(GrammarNodeKind::kAnyOf, {});
    const int32_t more =
        AddGroup(GrammarNodeKind::kSequence, {AddText(std::move(separator)), items});
    const int32_t tail = AddGroup(GrammarNodeKind::kAnyOf, {AddText(""), more});
    nodes_[static_cast<size_t>(items)].children.push_back(
        AddGroup(GrammarNodeKind::kSequence, {item, tail}));
    return items;
  }

  Result<std::shared_ptr<const Grammar>> Build(int32_t root) {
    auto g = std::make_shared<const Grammar>(std::move(nodes_), std::move(dfas_), root);
    if (!g->is_satisfiable(root)) {
      return InvalidArgument("the schema accepts no value that can be generated");
    }
    return std::shared_ptr<const Grammar>(std::move(g));
  }

 private:
  int32_t Add(GrammarNode n) {
    nodes_.push_back(std::move(n));
    return static_cast<int32_t>(nodes_.size()) - 1;
  }

  Status Unsupported(const std::string& path, const std::string& what) const {
    return InvalidArgument("unsupported JSON schema feature at " + path + ": " + what);
  }

  Result<int32_t> Compile(const json& s, int32_t depth, const std::string& path) {
    if (depth > kMaxSchemaDepth) {
      return InvalidArgument("the JSON schema nests deeper than " +
                             std::to_string(kMaxSchemaDepth));
    }
    if (static_cast<int32_t>(nodes_.size()) >= kMaxSchemaNodes) {
      return InvalidArgument("the JSON schema is too large (more than " +
                             std::to_string(kMaxSchemaNodes) + " nodes)");
    }
    if (s.is_boolean()) {
      if (!s.get<bool>()) return Unsupported(path, "the schema false");
      return Any();
    }
    if (!s.is_object()) return InvalidArgument("the JSON schema at " + path + " is not an object");
    for (const auto& [key, value] : s.items()) {
      if (!Supported().contains(key) && !Annotations().contains(key)) {
        return Unsupported(path, "keyword \"" + key + "\"");
      }
    }
    if (s.contains("$ref")) return CompileRef(s, depth, path);
    if (s.contains("anyOf") || s.contains("oneOf")) {
      const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
      if (s.size() > 1 && s.contains("type")) {
        return Unsupported(path, std::string(key) + " next to \"type\"");
      }
      const json& alts = s[key];
      if (!alts.is_array() || alts.empty()) {
        return InvalidArgument(path + "/" + key + " must be a non-empty array");
      }
      std::vector<int32_t> children;
      for (size_t i = 0; i < alts.size(); ++i) {
        ASSIGN_OR_RETURN(int32_t c,
                         Compile(alts[i], depth + 1, path + "/" + key + "/" + std::to_string(i)));
        children.push_back(c);
      }
      return WithNullable(s, AddGroup(GrammarNodeKind::kAnyOf, std::move(children)));
    }
    // Checked here too: enum and const values are filtered by them.
    RETURN_IF_ERROR(StringLengths(s, path).status());
    if (s.contains("const")) {
      ASSIGN_OR_RETURN(int32_t node, Literals(json::array({s["const"]}), s, path));
      return WithNullable(s, node);
    }
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) {
        return InvalidArgument(path + "/enum must be a non-empty array");
      }
      ASSIGN_OR_RETURN(int32_t node, Literals(s["enum"], s, path));
      return WithNullable(s, node);
    }
    std::vector<std::string> types;
    if (!s.contains("type")) {
      // No type: the keywords present say which kind is meant; none: any value.
      if (s.contains("properties") || s.contains("additionalProperties") ||
          s.contains("required")) {
        types.push_back("object");
      } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
        types.push_back("array");
      } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") ||
                 s.contains("maxLength")) {
        types.push_back("string");
      } else if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
                 s.contains("exclusiveMaximum")) {
        types.push_back("number");
      } else {
        return WithNullable(s, Any());
      }
    } else if (s["type"].is_string()) {
      types.push_back(s["type"].get<std::string>());
    } else if (s["type"].is_array() && !s["type"].empty()) {
      for (const json& t : s["type"]) {
        if (!t.is_string()) return InvalidArgument(path + "/type must hold strings");
        types.push_back(t.get<std::string>());
      }
    } else {
      return InvalidArgument(path + "/type must be a string or a non-empty array");
    }
    std::vector<int32_t> children;
    for (const std::string& t : types) {
      ASSIGN_OR_RETURN(int32_t c, CompileType(s, t, depth, path));
      children.push_back(c);
    }
    const int32_t node =
        children.size() == 1 ? children[0] : AddGroup(GrammarNodeKind::kAnyOf, std::move(children));
    return WithNullable(s, node);
  }

  int32_t WithNullable(const json& s, int32_t node) {
    if (!s.contains("nullable") || !s["nullable"].is_boolean() || !s["nullable"].get<bool>()) {
      return node;
    }
    return AddGroup(GrammarNodeKind::kAnyOf, {node, Null()});
  }

  Result<int32_t> CompileRef(const json& s, int32_t depth, const std::string& path) {
    if (!s["$ref"].is_string()) return InvalidArgument(path + "/$ref must be a string");
    const std::string ref = s["$ref"].get<std::string>();
    for (const auto& [key, value] : s.items()) {
      if (key != "$ref" && !Annotations().contains(key)) {
        return Unsupported(path, "keyword \"" + key + "\" next to $ref");
      }
    }
    const auto memo_key = std::make_pair(document_id_, ref);
    auto it = refs_.find(memo_key);
    if (it != refs_.end()) return it->second;
    const json* target = nullptr;
    if (ref == "#") {
      target = document_;
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p(prefix);
        if (ref.rfind(p, 0) != 0) continue;
        const std::string name = ref.substr(p.size());
        const std::string section = p.substr(2, p.size() - 3);
        if (document_->is_object() && document_->contains(section) &&
            (*document_)[section].is_object() && (*document_)[section].contains(name)) {
          target = &(*document_)[section][name];
        }
      }
      if (target == nullptr)
        return Unsupported(path,
                           "$ref \"" + ref + "\" (only #, #/$defs/NAME and #/definitions/NAME)");
    }
    // Reserve the node first so recursive references find it.
    const int32_t node = AddGroup(GrammarNodeKind::kAnyOf, {});
    refs_.emplace(memo_key, node);
    ASSIGN_OR_RETURN(int32_t body, Compile(*target, depth + 1, ref));
    nodes_[static_cast<size_t>(node)].children.push_back(body);
    return node;
  }

  Result<int32_t> CompileType(const json& s, const std::string& type, int32_t depth,
                              const std::string& path) {
    if (type == "object") return CompileObject(s, depth, path);
    if (type == "array") return CompileArray(s, depth, path);
    if (type == "string") return CompileString(s, path);
    if (type == "number" || type == "integer") return CompileNumber(s, type == "integer", path);
    if (type == "boolean") {
      GrammarNode n;
      n.kind = GrammarNodeKind::kLiterals;
      n.literals = {"true", "false"};
      return Add(std::move(n));
    }
    if (type == "null") return Null();
    return Unsupported(path, "type \"" + type + "\"");
  }

  Result<int32_t> CompileObject(const json& s, int32_t depth, const std::string& path) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kObject;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return InvalidArgument(path + "/required must be an array");
      for (const json& r : s["required"]) {
        if (!r.is_string()) return InvalidArgument(path + "/required must hold strings");
        required.insert(r.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      if (!s["properties"].is_object())
        return InvalidArgument(path + "/properties must be an object");
      for (const auto& [key, value] : s["properties"].items()) {
        ASSIGN_OR_RETURN(int32_t v, Compile(value, depth + 1, path + "/properties/" + key));
        n.properties.push_back({json(key).dump(), v, required.contains(key)});
        required.erase(key);
      }
    }
    if (!required.empty()) {
      return Unsupported(path, "required property \"" + *required.begin() + "\" not in properties");
    }
    // Only listed keys are generated when there are properties (a subset of what the schema
    // allows); without properties, additionalProperties says what the values are.
    if (n.properties.empty()) {
      const json additional =
          s.contains("additionalProperties") ? s["additionalProperties"] : json(true);
      if (!additional.is_boolean() || additional.get<bool>()) {
        ASSIGN_OR_RETURN(n.map_value,
                         Compile(additional, depth + 1, path + "/additionalProperties"));
        n.map_key = free_string_;
      }
    } else if (s.contains("additionalProperties") && !s["additionalProperties"].is_boolean()) {
      // Validate the schema (a bad one is an error) even though its keys are never generated.
      ASSIGN_OR_RETURN(int32_t unused, Compile(s["additionalProperties"], depth + 1,
                                               path + "/additionalProperties"));
      static_cast<void>(unused);
    }
    return Add(std::move(n));
  }

  Result<int32_t> CompileArray(const json& s, int32_t depth, const std::string& path) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kArray;
    const json items = s.contains("items") ? s["items"] : json(true);
    if (items.is_array()) return Unsupported(path, "items as an array (tuple validation)");
    ASSIGN_OR_RETURN(n.items, Compile(items, depth + 1, path + "/items"));
    for (const char* key : {"minItems", "maxItems"}) {
      if (!s.contains(key)) continue;
      if (!s[key].is_number_integer() || s[key].get<int64_t>() < 0 ||
          s[key].get<int64_t>() > 1000000) {
        return InvalidArgument(path + "/" + key + " must be an integer in [0, 1000000]");
      }
    }
    n.min_items = s.contains("minItems") ? s["minItems"].get<int32_t>() : 0;
    n.max_items = s.contains("maxItems") ? s["maxItems"].get<int32_t>() : -1;
    if (n.max_items >= 0 && n.max_items < n.min_items) {
      return InvalidArgument(path + ": maxItems is below minItems");
    }
    return Add(std::move(n));
  }

  Result<int32_t> CompileString(const json& s, const std::string& path) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kString;
    ASSIGN_OR_RETURN(const auto lengths, StringLengths(s, path));
    const bool bounded = lengths.first > 0 || lengths.second >= 0;
    if (s.contains("pattern") && s.contains("format")) {
      return Unsupported(path, "pattern together with format");
    }
    std::string pattern;
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return InvalidArgument(path + "/pattern must be a string");
      pattern = s["pattern"].get<std::string>();
    } else if (s.contains("format")) {
      if (!s["format"].is_string()) return InvalidArgument(path + "/format must be a string");
      const std::string format = s["format"].get<std::string>();
      auto it = Formats().find(format);
      if (it == Formats().end()) return Unsupported(path, "format \"" + format + "\"");
      pattern = it->second;
    }
    if (s.contains("pattern") || s.contains("format")) {
      Result<StringDfa> dfa = CompilePattern(pattern);
      if (dfa.ok() && bounded) dfa = LimitLength(*dfa, lengths.first, lengths.second);
      if (!dfa.ok()) return InvalidArgument(path + ": " + std::string(dfa.status().message()));
      dfas_.push_back(std::move(dfa).value());
      n.dfa = static_cast<int32_t>(dfas_.size()) - 1;
    } else {
      n.min_length = lengths.first;
      n.max_length = lengths.second;
    }
    return Add(std::move(n));
  }

  // minLength and maxLength (-1: none), checked.
  Result<std::pair<int32_t, int32_t>> StringLengths(const json& s, const std::string& path) {
    std::pair<int32_t, int32_t> out{0, -1};
    for (const char* key : {"minLength", "maxLength"}) {
      if (!s.contains(key)) continue;
      const json& v = s[key];
      const bool integral = v.is_number_integer() ||
                            (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
      if (!integral || v.get<double>() < 0 || v.get<double>() > kMaxStringLength) {
        return InvalidArgument(path + "/" + key + " must be an integer in [0, " +
                               std::to_string(kMaxStringLength) + "]");
      }
      (std::string(key) == "minLength" ? out.first : out.second) =
          static_cast<int32_t>(v.get<double>());
    }
    if (out.second >= 0 && out.second < out.first) {
      return InvalidArgument(path + ": maxLength " + std::to_string(out.second) +
                             " is below minLength " + std::to_string(out.first));
    }
    return out;
  }

  Result<int32_t> CompileNumber(const json& s, bool integer, const std::string& path) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kNumber;
    n.integer = integer;
    // Bounds on integer boundaries: [ceil(minimum), floor(maximum)], exclusive ones one step in.
    double lo = -static_cast<double>(kMaxMagnitude), hi = static_cast<double>(kMaxMagnitude);
    auto bound = [&](const char* key) -> Result<std::optional<double>> {
      if (!s.contains(key) || s[key].is_boolean()) return std::optional<double>();
      if (!s[key].is_number()) return InvalidArgument(path + "/" + key + " must be a number");
      return std::optional<double>(s[key].get<double>());
    };
    auto flag = [&](const char* key) {
      return s.contains(key) && s[key].is_boolean() && s[key].get<bool>();
    };
    ASSIGN_OR_RETURN(std::optional<double> minimum, bound("minimum"));
    ASSIGN_OR_RETURN(std::optional<double> maximum, bound("maximum"));
    ASSIGN_OR_RETURN(std::optional<double> ex_minimum, bound("exclusiveMinimum"));
    ASSIGN_OR_RETURN(std::optional<double> ex_maximum, bound("exclusiveMaximum"));
    if (minimum) lo = flag("exclusiveMinimum") ? std::floor(*minimum) + 1 : std::ceil(*minimum);
    if (ex_minimum) lo = std::max(lo, std::floor(*ex_minimum) + 1);
    if (maximum) hi = flag("exclusiveMaximum") ? std::ceil(*maximum) - 1 : std::floor(*maximum);
    if (ex_maximum) hi = std::min(hi, std::ceil(*ex_maximum) - 1);
    n.has_bounds = minimum || maximum || ex_minimum || ex_maximum;
    if (n.has_bounds) {
      lo = std::max(lo, -static_cast<double>(kMaxMagnitude));
      hi = std::min(hi, static_cast<double>(kMaxMagnitude));
      if (!(lo <= hi)) {
        return Unsupported(path, "bounds with no integer between them");
      }
      n.minimum = static_cast<int64_t>(lo);
      n.maximum = static_cast<int64_t>(hi);
    }
    return Add(std::move(n));
  }

  Result<int32_t> Literals(const json& values, const json& s, const std::string& path) {
    GrammarNode n;
    n.kind = GrammarNodeKind::kLiterals;
    std::vector<std::string> types;
    if (s.contains("type") && s["type"].is_string()) types.push_back(s["type"].get<std::string>());
    if (s.contains("type") && s["type"].is_array()) {
      for (const json& t : s["type"]) {
        if (t.is_string()) types.push_back(t.get<std::string>());
      }
    }
    for (const json& v : values) {
      const bool typed =
          types.empty() || std::any_of(types.begin(), types.end(),
                                       [&](const std::string& t) { return MatchesType(v, t); });
      if (!typed || !FitsLength(v, s)) continue;
      literal_bytes_ += v.dump().size();
      if (literal_bytes_ > kMaxLiteralBytes) {
        return InvalidArgument("the JSON schema's enum and const values pass " +
                               std::to_string(kMaxLiteralBytes) + " bytes");
      }
      n.literals.push_back(v.dump());
    }
    if (n.literals.empty()) return Unsupported(path, "enum/const with no value of the given type");
    return Add(std::move(n));
  }

  int32_t Null() {
    GrammarNode n;
    n.kind = GrammarNodeKind::kLiterals;
    n.literals = {"null"};
    return Add(std::move(n));
  }

  // Any JSON value; built once per grammar (objects and arrays of it refer back to it).
  int32_t Any() {
    if (any_ >= 0) return any_;
    any_ = AddGroup(GrammarNodeKind::kAnyOf, {});
    GrammarNode object;
    object.kind = GrammarNodeKind::kObject;
    object.map_key = free_string_;
    object.map_value = any_;
    GrammarNode array;
    array.kind = GrammarNodeKind::kArray;
    array.items = any_;
    GrammarNode number;
    number.kind = GrammarNodeKind::kNumber;
    GrammarNode literals;
    literals.kind = GrammarNodeKind::kLiterals;
    literals.literals = {"true", "false", "null"};
    std::vector<int32_t> children{Add(std::move(object)), Add(std::move(array)), free_string_,
                                  Add(std::move(number)), Add(std::move(literals))};
    nodes_[static_cast<size_t>(any_)].children = std::move(children);
    return any_;
  }

  std::vector<GrammarNode> nodes_;
  std::vector<StringDfa> dfas_;
  int32_t free_string_ = -1;
  int32_t any_ = -1;
  const json* document_ = nullptr;
  int64_t document_id_ = 0;
  std::map<std::pair<int64_t, std::string>, int32_t> refs_;
  size_t literal_bytes_ = 0;
};

GrammarBuilder::GrammarBuilder() : impl_(std::make_unique<Impl>()) {}
GrammarBuilder::~GrammarBuilder() = default;

Result<int32_t> GrammarBuilder::AddSchema(const nlohmann::ordered_json& schema) {
  return impl_->AddSchema(schema);
}
int32_t GrammarBuilder::AddText(std::string text) { return impl_->AddText(std::move(text)); }
int32_t GrammarBuilder::AddSequence(std::vector<int32_t> children) {
  return impl_->AddGroup(GrammarNodeKind::kSequence, std::move(children));
}
int32_t GrammarBuilder::AddAnyOf(std::vector<int32_t> children) {
  return impl_->AddGroup(GrammarNodeKind::kAnyOf, std::move(children));
}
int32_t GrammarBuilder::AddObject(std::vector<std::pair<std::string, int32_t>> properties) {
  return impl_->AddObject(std::move(properties));
}
int32_t GrammarBuilder::AddOneOrMore(int32_t item, std::string separator) {
  return impl_->AddOneOrMore(item, std::move(separator));
}
Result<std::shared_ptr<const Grammar>> GrammarBuilder::Build(int32_t root) {
  return impl_->Build(root);
}

Result<std::shared_ptr<const Grammar>> CompileJsonSchema(const nlohmann::ordered_json& schema) {
  GrammarBuilder builder;
  ASSIGN_OR_RETURN(int32_t root, builder.AddSchema(schema));
  return builder.Build(root);
}

}  // namespace ts
