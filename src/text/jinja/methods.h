// Methods: the Python str, dict and list methods chat templates call
// (message.content.startswith('<tool'), text.split('</think>')[-1].lstrip('\n'),
// tool.get('function'), d.items(), ...). Only non-mutating methods exist, as in the
// ImmutableSandboxedEnvironment transformers renders with.
#pragma once

#include <string_view>

#include "base/status.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/value.h"

namespace ts::jinja {

// Whether obj.name is a method (strings, dicts and lists have them).
bool HasMethod(const Value& obj, std::string_view name);

// REQUIRES: HasMethod(obj, name).
Result<Value> CallMethod(Interpreter& in, const Value& obj, std::string_view name, CallArgs& args);

// Python str.split(sep=None, maxsplit=-1); also used by the wordcount filter.
Result<std::vector<std::string>> SplitString(std::string_view s, const Value* sep,
                                             int64_t maxsplit);

}  // namespace ts::jinja
