// RenderLimits: what one render may spend. A template is code from a model repository (or a
// client's --chat-template), so every render is bounded in time, memory, output and depth;
// crossing a limit ends the render with kResourceExhausted, never a hang or a crash.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ts::jinja {

struct RenderLimits {
  // Expression evaluations + statements + loop iterations. Real chat templates spend a few
  // hundred per message.
  int64_t max_steps = 5'000'000;
  // Bytes of strings built and list items made over the whole render (each item counts 16).
  // Bounds memory and copying; a real prompt costs a small multiple of its length.
  size_t max_alloc_bytes = size_t{512} << 20;
  // Size of the rendered text, and of any one captured block or macro result.
  size_t max_output_bytes = size_t{64} << 20;
  // Nesting of evaluation: expressions, statements and macro calls together. Bounds the native
  // stack a render uses (about 1 KiB per level in an optimized build).
  int max_depth = 400;
};

}  // namespace ts::jinja
