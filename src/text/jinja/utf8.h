// UTF-8 helpers for the Jinja runtime: Python counts, indexes and strips strings by code point,
// so the string filters and methods do too. Invalid bytes decode as one code point each
// (U+FFFD is reported but the byte itself is kept when copying), so no input makes them fail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ts::jinja::utf8 {

// Decodes the code point at s[pos] and advances pos past it (one byte for invalid input).
char32_t Next(std::string_view s, size_t& pos);
void Append(char32_t cp, std::string& out);

size_t Length(std::string_view s);
// Byte offsets of every code point start, plus s.size() at the end.
std::vector<size_t> Offsets(std::string_view s);

// Python str.isspace() for one code point.
bool IsSpace(char32_t cp);
// Python str.strip()/lstrip()/rstrip(): with chars == nullptr strip whitespace, else strip
// any code point contained in *chars.
std::string_view Strip(std::string_view s, const std::string* chars, bool left, bool right);

// Case mapping for ASCII, Latin-1, Greek and Cyrillic letters; other code points unchanged.
char32_t ToUpper(char32_t cp);
char32_t ToLower(char32_t cp);
bool IsAlpha(char32_t cp);
bool IsDigit(char32_t cp);
std::string Upper(std::string_view s);
// Python str.islower()/isupper(): some cased code point, and none of the other case.
bool CaseIs(std::string_view s, bool lower);
std::string Lower(std::string_view s);

}  // namespace ts::jinja::utf8
