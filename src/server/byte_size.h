// Byte sizes as the command line writes them: "4GiB", "512MB", "64k", "1048576".
// Decimal units (kB, KB, MB, GB, TB: powers of 1000) and binary ones (KiB, MiB, GiB, TiB, and
// the bare letters K, M, G, T: powers of 1024); case-insensitive; an optional "B" alone means
// bytes. Fails on anything else and on values past INT64_MAX.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ts::server {

Result<int64_t> ParseByteSize(std::string_view text);

// "4.0 GiB"-style rendering for logs.
std::string FormatByteSize(int64_t bytes);

}  // namespace ts::server
