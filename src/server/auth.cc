#include "server/auth.h"

#include <cstdint>

namespace ts::server {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of `a` is visited whatever `b` is; a length mismatch is folded in at the end.
  uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    const uint8_t other = i < b.size() ? static_cast<uint8_t>(b[i]) : 0;
    diff |= static_cast<uint8_t>(static_cast<uint8_t>(a[i]) ^ other);
  }
  // volatile keeps the compiler from turning the loop into an early-exit compare.
  volatile uint8_t result = diff;
  return result == 0;
}

bool IsAuthorized(std::string_view authorization_header, std::string_view expected_key) {
  if (expected_key.empty()) return true;
  constexpr std::string_view kPrefix = "Bearer ";
  if (!authorization_header.starts_with(kPrefix)) return false;
  return ConstantTimeEquals(authorization_header.substr(kPrefix.size()), expected_key);
}

}  // namespace ts::server
