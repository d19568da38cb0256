// Bearer-token check for --api-key. The comparison takes the same time wherever the first
// difference is, so response timing does not reveal how much of a guessed key was right.
#pragma once

#include <string_view>

namespace ts::server {

// True when `expected_key` is empty (auth off) or `authorization_header` is exactly
// "Bearer <expected_key>".
bool IsAuthorized(std::string_view authorization_header, std::string_view expected_key);

// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ts::server
