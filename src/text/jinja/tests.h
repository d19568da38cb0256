// Tests: `value is [not] name(args)`, the Jinja2 builtin tests (defined, none, string,
// mapping, iterable, number, divisibleby, eq, in, ...) with Python's type rules (bool counts as
// a number but not as an integer; undefined is iterable and empty).
#pragma once

#include <string_view>

#include "base/status.h"
#include "text/jinja/value.h"

namespace ts::jinja {

bool IsTest(std::string_view name);

// Fails for unknown names and for arguments the test does not accept.
Result<bool> ApplyTest(std::string_view name, const Value& operand, CallArgs& args);

}  // namespace ts::jinja
