// Operators: Python semantics of Jinja's arithmetic, membership, attribute and item access,
// as transformers' ImmutableSandboxedEnvironment applies them. Results that allocate are
// charged to the interpreter's budget before they are built ('x' * 10**12 fails at once).
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/jinja/ast.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/value.h"

namespace ts::jinja {

// + - * / // % ** and ~ (ast::BinaryOp other than and/or). Ints stay ints unless they would
// overflow 64 bits (an error; Python has big ints but no prompt needs them).
Result<Value> BinaryOperation(Interpreter& in, ast::BinaryOp op, const Value& a, const Value& b);

// Unary minus and plus.
Result<Value> Negate(const Value& v, bool minus);

// `needle in haystack`: substring, list item, dict key; `x in undefined` is false.
Result<bool> Contains(const Value& haystack, const Value& needle);

// obj.name: methods of str/dict/list first (Python getattr), then dict keys and namespace
// attributes. Missing: undefined. On undefined itself: an error.
Result<Value> GetAttribute(const Value& obj, const std::string& name);
// obj[key]: list/str index (negative from the end), dict key, then attributes as above.
Result<Value> GetItem(Interpreter& in, const Value& obj, const Value& key);
// obj[start:stop:step] on lists, tuples and strings (by code point); absent bounds are null.
Result<Value> GetSlice(Interpreter& in, const Value& obj, const Value* start, const Value* stop,
                       const Value* step);

// The items `for x in value` visits: list items, dict keys, the code points of a string;
// undefined is empty. Fails for other kinds.
Result<std::vector<Value>> Iterate(Interpreter& in, const Value& value);

// The error for using an undefined value where a defined one is needed.
Status UndefinedError(const Value& v);

}  // namespace ts::jinja
