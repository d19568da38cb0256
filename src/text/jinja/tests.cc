#include "text/jinja/tests.h"

#include <algorithm>
#include <array>

#include "text/jinja/args.h"
#include "text/jinja/filters.h"
#include "text/jinja/operators.h"
#include "text/jinja/utf8.h"

namespace ts::jinja {

namespace {

constexpr std::array<std::string_view, 38> kTests = {
    "boolean", "callable", "defined",     "undefined", "divisibleby", "eq",     "equalto",
    "==",      "ne",       "!=",          "lt",        "lessthan",    "<",      "le",
    "<=",      "gt",       "greaterthan", ">",         "ge",          ">=",     "even",
    "odd",     "false",    "true",        "float",     "integer",     "number", "string",
    "mapping", "iterable", "sequence",    "none",      "lower",       "upper",  "in",
    "sameas",  "filter",   "test"};

bool IsName(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Result<int64_t> IntOperand(const Value& v, std::string_view test) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return static_cast<int64_t>(v.as_bool());
  return InvalidArgument(std::string("test '") + std::string(test) + "' needs an integer, got " +
                         std::string(v.TypeName()));
}

}  // namespace

bool IsTest(std::string_view name) {
  return std::find(kTests.begin(), kTests.end(), name) != kTests.end();
}

Result<bool> ApplyTest(std::string_view name, const Value& v, CallArgs& args) {
  if (!IsTest(name))
    return InvalidArgument(std::string("unknown test '") + std::string(name) + "'");
  ArgReader reader(args, name);
  const Value* other = nullptr;
  if (IsName(name, {"divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le",
                    "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas"})) {
    other = reader.Get(0, "other");
    if (other == nullptr)
      return InvalidArgument(std::string("test '") + std::string(name) + "' needs an argument");
  }
  RETURN_IF_ERROR(reader.Done());
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "mapping") return v.is_dict();
  if (name == "callable") return v.is_callable();
  // Python's Undefined is iterable and has a length, so these hold for it too.
  if (name == "iterable" || name == "sequence") {
    return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  }
  if (name == "lower" || name == "upper") {
    return v.is_string() && utf8::CaseIs(v.as_string(), /*lower=*/name == "lower");
  }
  if (name == "odd" || name == "even") {
    ASSIGN_OR_RETURN(int64_t i, IntOperand(v, name));
    return (i % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    ASSIGN_OR_RETURN(int64_t i, IntOperand(v, name));
    ASSIGN_OR_RETURN(int64_t d, IntOperand(*other, name));
    if (d == 0) return InvalidArgument("integer division or modulo by zero");
    if (d == -1) return true;
    return i % d == 0;
  }
  if (name == "in") return Contains(*other, v);
  if (name == "sameas") return SameObject(v, *other);
  // `'upper' is filter`: whether the value names a filter (or a test).
  if (name == "filter" || name == "test") {
    if (!v.is_string()) return false;
    return name == "filter" ? IsFilter(v.as_string()) : IsTest(v.as_string());
  }
  if (IsName(name, {"eq", "equalto", "==", "ne", "!="})) {
    ASSIGN_OR_RETURN(bool eq, Equals(v, *other));
    return eq == IsName(name, {"eq", "equalto", "=="});
  }
  if (v.is_undefined()) return UndefinedError(v);
  if (other->is_undefined()) return UndefinedError(*other);
  ASSIGN_OR_RETURN(int c, Compare(v, *other));
  if (IsName(name, {"lt", "lessthan", "<"})) return c < 0;
  if (IsName(name, {"le", "<="})) return c <= 0;
  if (IsName(name, {"gt", "greaterthan", ">"})) return c > 0;
  return c >= 0;
}

}  // namespace ts::jinja
