// UTF-8 helpers shared by the tokenizer stages: validation, code point iteration, encoding and
// lossy decoding. Lossy decoding follows the WHATWG "maximal subpart" rule (one U+FFFD per
// maximal invalid subsequence), which is what the reference tokenizers' TextDecoder and Python's
// bytes.decode(errors="replace") do, so decoded text matches them byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ts::text {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length of the well-formed UTF-8 sequence at s[pos], or 0 if the bytes there are not one
// (bad lead byte, bad continuation, overlong form, surrogate, > U+10FFFF or truncated).
size_t ValidSequenceLength(std::string_view s, size_t pos);

// Decodes the well-formed sequence at s[pos] of length len (from ValidSequenceLength).
char32_t DecodeSequence(std::string_view s, size_t pos, size_t len);

// True when every byte of s belongs to a well-formed UTF-8 sequence.
bool IsValidUtf8(std::string_view s);

void AppendUtf8(char32_t cp, std::string* out);

// Appends s to out, replacing each maximal invalid subsequence with U+FFFD.
void AppendLossyUtf8(std::string_view s, std::string* out);

// Length of the longest suffix of s that is a proper prefix of a well-formed sequence, i.e.
// bytes that may still become a character when more bytes arrive. At most 3.
size_t IncompleteTailLength(std::string_view s);

}  // namespace ts::text
