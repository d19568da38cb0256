#include "kernels/isa.h"

#include <cstdlib>

#include "base/check.h"
#include "base/log.h"

namespace ts {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "?";
}

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> isas;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isas.push_back(Isa::kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    isas.push_back(Isa::kAvx512);
    if (__builtin_cpu_supports("avx512vnni")) isas.push_back(Isa::kAvx512Vnni);
  }
  return isas;
}

bool CpuHasAvx512Bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
  }();
  return has;
}

Isa SelectedIsa() {
  static const Isa selected = [] {
    std::vector<Isa> isas = AvailableIsas();
    CHECK(!isas.empty()) << "tierserve needs a CPU with AVX2 and FMA";
    const char* forced = std::getenv("TS_ISA");
    if (forced != nullptr) {
      for (Isa isa : isas) {
        if (IsaName(isa) == forced) return isa;
      }
      LOG(WARNING) << "TS_ISA=" << forced << " is not available here; using "
                   << IsaName(isas.back());
    }
    return isas.back();
  }();
  return selected;
}

}  // namespace ts
