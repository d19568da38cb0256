// JSON Schema -> Grammar for constrained decoding. Takes ordered_json: properties are generated
// in the order the schema lists them.
//
// Supported: type (one or a list), object (properties, required, additionalProperties),
// array (items, minItems, maxItems), string (enum, const, pattern, format date / time /
// date-time / uuid, minLength, maxLength), number and integer (minimum, maximum, exclusiveMinimum,
// exclusiveMaximum), boolean, null, enum and const of any value, anyOf, oneOf (generated as
// anyOf: the alternatives people write are disjoint), $ref to "#", "#/$defs/..." and
// "#/definitions/...", nullable, annotations (title, description, default, examples, ...).
// Anything else is refused with kInvalidArgument naming the keyword: a constraint is never
// silently dropped. Generated output is a subset of what the schema accepts (grammar.h); number
// bounds are enforced on integer boundaries (a number in [0.5, 2] is generated in [1, 2]).
//
// Compilation is linear in the schema ($refs are compiled once) and capped: kMaxSchemaNodes
// nodes, kMaxSchemaDepth nesting, kMaxLiteralBytes of enum/const text, string lengths up to
// kMaxStringLength characters, patterns per string_pattern.h (a pattern or format with length
// bounds becomes one DFA, capped like the pattern's own).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "base/status.h"
#include "engine/grammar.h"

namespace ts {

constexpr int32_t kMaxSchemaNodes = 10000;
constexpr int32_t kMaxSchemaDepth = 32;
constexpr size_t kMaxLiteralBytes = 1 << 16;
constexpr int32_t kMaxStringLength = 100000;  // minLength / maxLength at most

// The grammar of a value matching `schema`.
Result<std::shared_ptr<const Grammar>> CompileJsonSchema(const nlohmann::ordered_json& schema);

// Builds grammars from parts: JSON values per schema, raw text, sequences of them. The tool-call
// grammars (a call's wrapper text around {"name": ..., "arguments": ...}) are made this way.
class GrammarBuilder {
 public:
  GrammarBuilder();
  ~GrammarBuilder();

  // A node for a value matching `schema`, its own document: "#" in its $refs is the schema.
  Result<int32_t> AddSchema(const nlohmann::ordered_json& schema);
  int32_t AddText(std::string text);
  int32_t AddSequence(std::vector<int32_t> children);
  int32_t AddAnyOf(std::vector<int32_t> children);
  // An object with exactly these properties, all required, in order.
  int32_t AddObject(std::vector<std::pair<std::string, int32_t>> properties);
  // `item`, then any number of (`separator`, `item`): one or more, unbounded.
  int32_t AddOneOrMore(int32_t item, std::string separator);

  // Fails when the root accepts nothing.
  Result<std::shared_ptr<const Grammar>> Build(int32_t root);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ts
