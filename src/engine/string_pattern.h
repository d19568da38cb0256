// String patterns for constrained decoding: a small regular-expression dialect compiled to a
// DFA over the bytes of a JSON string's contents.
//
// Supported: literals, escapes (\d \w \s \D \W \S and escaped punctuation), classes [a-z_] and
// [^...], '.', groups (...) and (?:...), '|', quantifiers * + ? {n} {n,} {n,m} (n, m <= 64; a
// trailing '?' for laziness is accepted and means nothing here), '^' at the start and '$' at
// the end. JSON Schema patterns are unanchored: without '^'/'$' any prefix/suffix is allowed.
// The alphabet is printable ASCII without '"' and '\' (so the string needs no escapes): '.',
// negated classes and \S range over it, and \s is the space only. Anything else (backreferences,
// lookaround, Unicode classes, non-ASCII) is refused with a message naming it.
//
// The DFA is built by subset construction, capped at kMaxDfaStates so a hostile pattern fails
// fast instead of exploding.
#pragma once

#include <string_view>

#include "base/status.h"
#include "engine/grammar.h"

namespace ts {

constexpr int32_t kMaxDfaStates = 2000;
constexpr size_t kMaxPatternBytes = 1000;

// Fails with kInvalidArgument naming the unsupported construct, or when the pattern matches no
// string over the alphabet.
Result<StringDfa> CompilePattern(std::string_view pattern);

// The DFA of the strings `dfa` accepts that are min_length..max_length characters long
// (max_length -1: unbounded). Its alphabet is single-byte, so characters are bytes. A product
// of `dfa` with a character counter (the count saturates at min_length when unbounded), trimmed
// to states that can still reach acceptance; fails past kMaxDfaStates or when no string is left.
Result<StringDfa> LimitLength(const StringDfa& dfa, int32_t min_length, int32_t max_length);

}  // namespace ts
