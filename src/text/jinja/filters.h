// Filters: `value | name(args)`. The Jinja2 builtin filters chat templates use, with
// transformers' tojson (json.dumps with ensure_ascii=False) in place of Jinja's HTML-safe one.
#pragma once

#include <string_view>

#include "base/status.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/value.h"

namespace ts::jinja {

bool IsFilter(std::string_view name);

// Fails for unknown names and for arguments the filter does not accept.
Result<Value> ApplyFilter(Interpreter& in, std::string_view name, const Value& operand,
                          CallArgs& args);

}  // namespace ts::jinja
