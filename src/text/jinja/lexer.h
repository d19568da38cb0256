// Lexer: template source -> tokens, with Jinja2's whitespace rules as transformers configures
// them (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False):
//  - newlines (\r\n, \r) become \n and one trailing newline of the source is dropped;
//  - {%- / {{- / {#- strip all whitespace before the tag, -%} / -}} / -#} all whitespace after;
//  - trim_blocks: the first newline after %} or #} is dropped (not after }}; +%} keeps it);
//  - lstrip_blocks: spaces and tabs between a line start and {% or {# are dropped ({%+ keeps);
//  - {% raw %}...{% endraw %} is text; {# comments #} vanish.
// Every token records its byte offset into the normalized source for error positions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ts::jinja {

enum class TokenKind {
  kText,        // template data between tags
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifiers and keywords (if, for, and, true, ...)
  kString,      // value holds the unescaped text
  kInt,
  kFloat,
  kOp,  // value holds the operator: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  kEof,
};

struct Token {
  TokenKind kind;
  std::string value;
  int64_t int_value = 0;
  double float_value = 0;
  uint32_t offset = 0;
};

// Replaces \r\n and \r by \n and drops one trailing \n (what Jinja does before lexing).
std::string NormalizeSource(std::string_view source);

// REQUIRES: source was normalized. Errors carry "line L, column C: ..." of the offending spot.
Result<std::vector<Token>> Tokenize(std::string_view source);

// 1-based line and column (in code points) of a byte offset, for error messages.
std::string DescribePosition(std::string_view source, uint32_t offset);

}  // namespace ts::jinja
