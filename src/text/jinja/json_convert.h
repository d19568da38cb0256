// Conversions between Value and JSON: the render context arrives as nlohmann JSON, and the
// `tojson` filter writes JSON the way transformers' override of it does:
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "text/jinja/value.h"

namespace ts::jinja {

// Objects keep their key order: pass nlohmann::ordered_json to keep the order a client sent
// (tojson of a tool definition prints keys in that order); nlohmann::json sorts keys.
// Fails for documents nested deeper than kMaxValueDepth.
Result<Value> FromJson(const nlohmann::ordered_json& json);
Result<Value> FromJson(const nlohmann::json& json);

struct JsonDumpOptions {
  std::optional<int> indent;  // none: one line; n >= 0: newline and n spaces per level
  bool ensure_ascii = false;  // escape every non-ASCII code point as \uXXXX
  bool sort_keys = false;
  // Python's defaults: (", ", ": "), or (",", ": ") when indenting.
  std::optional<std::string> item_separator;
  std::optional<std::string> key_separator;
  // The dump fails (kResourceExhausted) rather than grow past this many bytes.
  size_t max_bytes = SIZE_MAX;
};

// Python json.dumps. Fails for undefined, namespaces and callables (not serializable) and for
// values nested deeper than kMaxValueDepth.
Result<std::string> ToJson(const Value& value, const JsonDumpOptions& options);

}  // namespace ts::jinja
