// Element type of the paged KV pool.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ts {

enum class KvDtype : uint8_t { kBf16 = 0, kF16 = 1, kF32 = 2 };

inline size_t KvDtypeBytes(KvDtype d) { return d == KvDtype::kF32 ? 4 : 2; }

}  // namespace ts
