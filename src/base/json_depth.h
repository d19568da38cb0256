// How deeply a JSON text nests, found by one pass over its bytes before any parser sees it:
// parsers recurse per level, so untrusted JSON (request bodies, safetensors headers) is
// measured first and refused beyond a limit.
#pragma once

#include <cstdint>
#include <string_view>

namespace ts {

// The deepest nesting of [] and {} outside strings; stops counting once it passes `limit`
// (the result is then limit + 1). Does not validate the JSON.
int32_t JsonDepth(std::string_view text, int32_t limit);

}  // namespace ts
