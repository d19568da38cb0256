// Globals every template sees: range, namespace, dict, raise_exception and strftime_now
// (the last two are what transformers adds to the environment).
#pragma once

#include "text/jinja/interpreter.h"

namespace ts::jinja {

void InstallGlobals(Scope& globals);

}  // namespace ts::jinja
