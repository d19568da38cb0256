// AST: what the parser builds and the interpreter walks. Nodes own their children; every node
// keeps the byte offset of its first token so runtime errors can name a line and column.
// The parser bounds the depth of every tree (kMaxAstDepth), so walking one recursively is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace ts::jinja::ast {

inline constexpr int kMaxAstDepth = 200;

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Arguments {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat, kAnd, kOr };
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr {
  enum class Kind {
    kLiteral,    // literal
    kName,       // name
    kList,       // items
    kTuple,      // items
    kDict,       // items as key, value, key, value, ...
    kNot,        // items[0]
    kNeg,        // items[0]
    kPos,        // items[0]
    kBinary,     // items[0] binary_op items[1]
    kCompare,    // items[0] compare_ops[0] items[1] compare_ops[1] items[2] ... (chained)
    kTernary,    // items[0] if items[1] else items[2] (items[2] may be null: undefined)
    kAttribute,  // items[0].name
    kSubscript,  // items[0][items[1]]
    kSlice,      // items[0][items[1]:items[2]:items[3]] (each bound may be null)
    kCall,       // items[0](args)
    kFilter,     // items[0] | name(args); items[0] is null inside {% filter %}
    kTest,       // items[0] is [not] name(args)
  };

  Kind kind;
  uint32_t offset = 0;
  int depth = 1;  // 1 + deepest child
  Value literal;
  std::string name;
  BinaryOp binary_op = BinaryOp::kAdd;
  std::vector<CompareOp> compare_ops;
  bool negated = false;
  std::vector<ExprPtr> items;
  Arguments args;
};

// A macro or call-block parameter: name [= default].
struct Parameter {
  std::string name;
  ExprPtr default_value;
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // if conditions[i]: bodies[i] ... else else_body
    kFor,          // for targets in expr [if filter]: body else else_body
    kSet,          // set targets = expr; or set target.attr = expr (attribute non-empty)
    kSetBlock,     // set targets[0] [| filter] %} body {% endset
    kMacro,        // macro name(params) %} body
    kCallBlock,    // call(params) expr %} body: expr is the kCall, body becomes caller()
    kFilterBlock,  // filter expr %} body: expr is a kFilter chain whose innermost operand is null
    kBreak,
    kContinue,
  };

  Kind kind;
  uint32_t offset = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // for-loop condition or set-block filter chain
  std::vector<std::string> targets;
  bool targets_tuple = false;  // {% for a, b in ... %} vs {% for a in ... %}
  std::string attribute;       // {% set ns.attribute = ... %}
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::string name;
  std::vector<Parameter> params;
};

}  // namespace ts::jinja::ast
