// Element types of stored tensors (safetensors names) and their sizes.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ts {

enum class DType { kF32, kF16, kBf16, kU32, kI32, kU8, kI8, kF64, kI64, kBool };

// "F32", "BF16", ... as written in safetensors headers; nullopt for names we do not know.
std::optional<DType> ParseSafetensorsDtype(std::string_view name);
std::string_view DTypeName(DType d);
size_t DTypeBytes(DType d);

}  // namespace ts
