#include "model/dtype.h"

namespace ts {

namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t bytes;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2}, {DType::kBf16, "BF16", 2},
    {DType::kU32, "U32", 4}, {DType::kI32, "I32", 4}, {DType::kU8, "U8", 1},
    {DType::kI8, "I8", 1},   {DType::kF64, "F64", 8}, {DType::kI64, "I64", 8},
    {DType::kBool, "BOOL", 1},
};

}  // namespace

std::optional<DType> ParseSafetensorsDtype(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::string_view DTypeName(DType d) {
  for (const auto& info : kDTypes) {
    if (info.dtype == d) return info.name;
  }
  return "?";
}

size_t DTypeBytes(DType d) {
  for (const auto& info : kDTypes) {
    if (info.dtype == d) return info.bytes;
  }
  return 0;
}

}  // namespace ts
