#include "server/byte_size.h"

#include <cctype>
#include <cstdio>
#include <limits>

namespace ts::server {

namespace {

Status BadSize(std::string_view text, std::string_view why) {
  std::string message = "'";
  message.append(text).append("' ").append(why);
  return InvalidArgument(std::move(message));
}

}  // namespace

Result<int64_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 19) return BadSize(text, "is not a size");
  std::string unit;
  for (char c : text.substr(digits))
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int64_t multiplier = 0;
  struct Unit {
    const char* name;
    int64_t multiplier;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"b", 1},
      {"k", 1ll << 10},
      {"kib", 1ll << 10},
      {"kb", 1000},
      {"m", 1ll << 20},
      {"mib", 1ll << 20},
      {"mb", 1000'000},
      {"g", 1ll << 30},
      {"gib", 1ll << 30},
      {"gb", 1000'000'000},
      {"t", 1ll << 40},
      {"tib", 1ll << 40},
      {"tb", 1000'000'000'000},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.name) multiplier = u.multiplier;
  }
  if (multiplier == 0) {
    return BadSize(text, "has an unknown unit (use B, KB, MB, GB, KiB, MiB, GiB, ...)");
  }
  const uint64_t value = std::stoull(std::string(text.substr(0, digits)));
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / multiplier)) {
    return BadSize(text, "is too large");
  }
  return static_cast<int64_t>(value) * multiplier;
}

std::string FormatByteSize(int64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), unit == 0 ? "%.0f %s" : "%.1f %s", value, kNames[unit]);
  return buf;
}

}  // namespace ts::server
