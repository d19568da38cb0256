// Instruction sets the CPU kernels are built for, and the one chosen at run time: the widest
// this CPU has (AVX-512 or AVX2+FMA), unless the environment variable TS_ISA names another
// (TS_ISA=avx2 forces the fallback). Each kernel with per-ISA builds also takes an explicit
// Isa so tests cover every path this CPU has.
#pragma once

#include <string_view>
#include <vector>

namespace ts {

enum class Isa { kAvx2, kAvx512 };

std::string_view IsaName(Isa isa);
// Instruction sets this CPU can run, narrowest first.
std::vector<Isa> AvailableIsas();
Isa SelectedIsa();

}  // namespace ts
