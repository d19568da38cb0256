#include "text/jinja/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "text/jinja/utf8.h"

namespace ts::jinja {

std::string NormalizeSource(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string DescribePosition(std::string_view source, uint32_t offset) {
  size_t line = 1;
  size_t line_start = 0;
  size_t end = std::min<size_t>(offset, source.size());
  for (size_t i = 0; i < end; ++i) {
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t column = 1 + utf8::Length(source.substr(line_start, end - line_start));
  return std::string("line ") + std::to_string(line) + std::string(", column ") +
         std::to_string(column);
}

namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whitespace as Python's str.strip() and re's \s see it.
size_t SkipSpaceForward(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t next = pos;
    if (!utf8::IsSpace(utf8::Next(s, next))) break;
    pos = next;
  }
  return pos;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> Run() {
    bool strip_next_text = false;  // the previous tag ended with -%} / -}} / -#}
    while (pos_ < src_.size()) {
      size_t text_start = pos_;
      if (strip_next_text) text_start = SkipSpaceForward(src_, text_start);
      strip_next_text = false;
      size_t tag = FindTag(text_start);
      std::string_view text = src_.substr(text_start, tag - text_start);
      if (tag < src_.size()) text = StripBeforeTag(text, text_start, tag);
      if (!text.empty()) Push(TokenKind::kText, std::string(text), text_start);
      pos_ = tag;
      if (pos_ >= src_.size()) break;
      ASSIGN_OR_RETURN(strip_next_text, LexTag());
    }
    Push(TokenKind::kEof, "", static_cast<uint32_t>(src_.size()));
    return std::move(tokens_);
  }

 private:
  size_t FindTag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  // Applies {%- (strip all) or lstrip_blocks (strip indentation) to the text before a tag.
  std::string_view StripBeforeTag(std::string_view text, size_t text_start, size_t tag) const {
    char kind = src_[tag + 1];
    char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
    if (sign == '-') return utf8::Strip(text, nullptr, /*left=*/false, /*right=*/true);
    if (sign == '+' || kind == '{') return text;
    size_t line_pos = text.rfind('\n');
    line_pos = line_pos == std::string_view::npos ? 0 : line_pos + 1;
    bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
    if (line_pos == 0 && !line_starting) return text;
    std::string_view indent = text.substr(line_pos);
    if (indent.empty() || SkipSpaceForward(indent, 0) != indent.size()) return text;
    return text.substr(0, line_pos);
  }

  // Lexes one tag starting at pos_ ("{{", "{%" or "{#"). Returns whether it ended with "-".
  Result<bool> LexTag() {
    size_t start = pos_;
    char kind = src_[pos_ + 1];
    pos_ += 2;
    if (pos_ < src_.size() && (src_[pos_] == '-' || src_[pos_] == '+')) ++pos_;
    if (kind == '#') return LexComment(start);
    if (kind == '%' && AtWord("raw")) return LexRaw(start);
    bool is_block = kind == '%';
    Push(is_block ? TokenKind::kBlockBegin : TokenKind::kVarBegin, is_block ? "{%" : "{{", start);
    int balance = 0;
    while (true) {
      while (pos_ < src_.size() && IsAsciiSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) {
        return Error(start, std::string("unexpected end of template, expected '") +
                                (is_block ? "%}" : "}}") + "'");
      }
      if (balance == 0) {
        std::optional<bool> end = MatchTagEnd(is_block);
        if (end.has_value()) return *end;
      }
      RETURN_IF_ERROR(LexToken(balance));
    }
  }

  // At a tag end: pushes it, applies trim_blocks, returns whether it was a "-" end.
  std::optional<bool> MatchTagEnd(bool is_block) {
    const char* close = is_block ? "%}" : "}}";
    auto at = [&](size_t p, std::string_view s) { return src_.substr(p, s.size()) == s; };
    size_t start = pos_;
    bool minus = false;
    bool plus = false;
    if (at(pos_, "-") && at(pos_ + 1, close)) {
      minus = true;
      ++pos_;
    } else if (is_block && at(pos_, "+") && at(pos_ + 1, close)) {
      plus = true;
      ++pos_;
    } else if (!at(pos_, close)) {
      return std::nullopt;
    }
    pos_ += 2;
    Push(is_block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, close, start);
    if (is_block && !minus && !plus && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
    return minus;
  }

  Result<bool> LexComment(size_t start) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string_view::npos) return Error(start, "missing end of comment tag");
    bool minus = end > pos_ && src_[end - 1] == '-';
    bool plus = end > pos_ && src_[end - 1] == '+';
    pos_ = end + 2;
    if (!minus && !plus && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
    return minus;
  }

  // {% raw %}...{% endraw %}: everything between is text.
  Result<bool> LexRaw(size_t start) {
    pos_ = SkipAsciiSpace(SkipAsciiSpace(pos_) + 3);
    if (src_.substr(pos_, 3) == "-%}") {
      pos_ = SkipSpaceForward(src_, pos_ + 3);
    } else if (src_.substr(pos_, 2) == "%}") {
      pos_ += 2;
    } else {
      return Error(pos_, "expected '%}' after 'raw'");
    }
    size_t body = pos_;
    for (size_t i = body; i + 1 < src_.size(); ++i) {
      if (src_[i] != '{' || src_[i + 1] != '%') continue;
      size_t p = i + 2;
      char sign = p < src_.size() ? src_[p] : '\0';
      if (sign == '-' || sign == '+') ++p;
      p = SkipAsciiSpace(p);
      if (src_.substr(p, 6) != "endraw") continue;
      p = SkipAsciiSpace(p + 6);
      bool minus = false;
      bool plus = false;
      if (src_.substr(p, 3) == "-%}") {
        minus = true;
        p += 3;
      } else if (src_.substr(p, 3) == "+%}") {
        plus = true;
        p += 3;
      } else if (src_.substr(p, 2) == "%}") {
        p += 2;
      } else {
        continue;
      }
      std::string_view text = src_.substr(body, i - body);
      if (sign == '-') text = utf8::Strip(text, nullptr, /*left=*/false, /*right=*/true);
      if (!text.empty()) Push(TokenKind::kText, std::string(text), static_cast<uint32_t>(body));
      pos_ = p;
      if (!minus && !plus && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
      return minus;
    }
    return Error(start, "missing end of raw directive");
  }

  Status LexToken(int& balance) {
    size_t start = pos_;
    char c = src_[pos_];
    if (IsNameStart(c)) {
      while (pos_ < src_.size() && IsNameChar(src_[pos_])) ++pos_;
      Push(TokenKind::kName, std::string(src_.substr(start, pos_ - start)), start);
      return Status::Ok();
    }
    if (IsDigitChar(c)) return LexNumber();
    if (c == '\'' || c == '"') return LexString();
    static constexpr std::string_view kTwoCharOps[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoCharOps) {
      if (src_.substr(pos_, 2) == op) {
        pos_ += 2;
        Push(TokenKind::kOp, std::string(op), start);
        return Status::Ok();
      }
    }
    static constexpr std::string_view kOneCharOps = "+-*/%~<>=.,:|()[]{}";
    if (kOneCharOps.find(c) == std::string_view::npos) {
      return Error(start, std::string("unexpected char '") + c + "'");
    }
    if (c == '(' || c == '[' || c == '{') ++balance;
    if (c == ')' || c == ']' || c == '}') {
      if (balance == 0) return Error(start, std::string("unexpected '") + c + "'");
      --balance;
    }
    ++pos_;
    Push(TokenKind::kOp, std::string(1, c), start);
    return Status::Ok();
  }

  Status LexNumber() {
    size_t start = pos_;
    std::string digits;
    auto take_digits = [&] {
      while (pos_ < src_.size() && (IsDigitChar(src_[pos_]) || src_[pos_] == '_')) {
        if (src_[pos_] != '_') digits += src_[pos_];
        ++pos_;
      }
    };
    take_digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && IsDigitChar(src_[pos_ + 1])) {
      is_float = true;
      digits += '.';
      ++pos_;
      take_digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && IsDigitChar(src_[p])) {
        is_float = true;
        digits += 'e';
        digits.append(src_.substr(pos_ + 1, p - pos_ - 1));
        pos_ = p;
        take_digits();
      }
    }
    Token token{is_float ? TokenKind::kFloat : TokenKind::kInt, digits, 0, 0,
                static_cast<uint32_t>(start)};
    if (is_float) {
      token.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      token.int_value = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error(start, "integer literal too large");
    }
    tokens_.push_back(std::move(token));
    return Status::Ok();
  }

  // Python string literal escapes; unknown escapes stay as written (as Python keeps them).
  Status LexString() {
    size_t start = pos_;
    char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) return Error(start, "unterminated string literal");
      char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= src_.size()) return Error(start, "unterminated string literal");
      char e = src_[pos_++];
      switch (e) {
        case '\n':
          break;
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case 'a':
          value += '\a';
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (size_t i = 0; i < len; ++i) {
            int h = pos_ + i < src_.size() ? HexValue(src_[pos_ + i]) : -1;
            if (h < 0) return Error(pos_ - 2, std::string("truncated \\") + e + " escape");
            cp = cp * 16 + h;
          }
          if (cp > 0x10ffff) return Error(pos_ - 2, "escape beyond U+10FFFF");
          pos_ += len;
          utf8::Append(cp, value);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = e - '0';
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
                 ++i) {
              cp = cp * 8 + (src_[pos_++] - '0');
            }
            utf8::Append(cp, value);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    Push(TokenKind::kString, std::move(value), start);
    return Status::Ok();
  }

  bool AtWord(std::string_view word) const {
    size_t p = SkipAsciiSpace(pos_);
    if (src_.substr(p, word.size()) != word) return false;
    p += word.size();
    return p < src_.size() && !IsNameChar(src_[p]);
  }

  static bool IsAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  }
  size_t SkipAsciiSpace(size_t p) const {
    while (p < src_.size() && IsAsciiSpace(src_[p])) ++p;
    return p;
  }

  void Push(TokenKind kind, std::string value, size_t offset) {
    tokens_.push_back(Token{kind, std::move(value), 0, 0, static_cast<uint32_t>(offset)});
  }

  Status Error(size_t offset, const std::string& message) const {
    return InvalidArgument("chat template " +
                           DescribePosition(src_, static_cast<uint32_t>(offset)) + ": " + message);
  }

  std::string_view src_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view source) {
  if (source.size() > UINT32_MAX) return InvalidArgument("chat template too large");
  return Lexer(source).Run();
}

}  // namespace ts::jinja
