// TokenStream: the parser's cursor over the lexer's tokens, with the error helpers that turn a
// token into "chat template line L, column C: ..." and the nesting counter that bounds how
// deep statements, brackets and parentheses may go.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/jinja/lexer.h"

namespace ts::jinja {

// Statements, brackets and parentheses nest at most this deep.
inline constexpr int kMaxNesting = 100;

class TokenStream {
 public:
  TokenStream(std::string_view source, const std::vector<Token>& tokens)
      : src_(source), tokens_(tokens) {}

  std::string_view source() const { return src_; }
  int& nesting() { return nesting_; }

  // Counts one level of nesting for its lifetime; Enter() then says whether that was too deep.
  class NestingGuard {
   public:
    explicit NestingGuard(int& depth) : depth_(depth) { ++depth_; }
    ~NestingGuard() { --depth_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    int& depth_;
  };

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kOp && Peek(ahead).value == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kName && Peek(ahead).value == name;
  }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }

  Status Error(const Token& at, const std::string& message) const {
    return InvalidArgument("chat template " + DescribePosition(src_, at.offset) + ": " + message);
  }
  Status Expected(std::string_view what) const {
    return Error(Peek(),
                 std::string("expected ") + std::string(what) + ", got " + Describe(Peek()));
  }
  Status ExpectOp(std::string_view op) {
    if (SkipOp(op)) return Status::Ok();
    return Expected(std::string("'") + std::string(op) + "'");
  }
  Status ExpectName(std::string_view name) {
    if (SkipName(name)) return Status::Ok();
    return Expected(std::string("'") + std::string(name) + "'");
  }
  Status ExpectBlockEnd() {
    if (Peek().kind == TokenKind::kBlockEnd) {
      Next();
      return Status::Ok();
    }
    return Expected("end of statement '%}'");
  }
  Result<std::string> ExpectIdentifier() {
    if (Peek().kind != TokenKind::kName) return Expected("a name");
    return Next().value;
  }
  // Fails once nesting() passes kMaxNesting.
  Status Enter(const Token& at) const {
    if (nesting_ > kMaxNesting) return Error(at, "template nested too deeply");
    return Status::Ok();
  }

  // How a token reads in "expected X, got Y".
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEof:
        return "end of template";
      case TokenKind::kText:
        return "template text";
      case TokenKind::kString:
        return "string literal";
      default:
        return "'" + t.value + "'";
    }
  }

 private:
  std::string_view src_;
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
};

}  // namespace ts::jinja
