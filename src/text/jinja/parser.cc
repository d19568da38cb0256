#include "text/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "text/jinja/expression_parser.h"
#include "text/jinja/token_stream.h"

namespace ts::jinja {

namespace {

using ast::Expr;
using ast::ExprPtr;
using ast::Stmt;

class Parser {
 public:
  Parser(std::string_view source, const std::vector<Token>& tokens)
      : ts_(source, tokens), exprs_(ts_) {}

  Result<ast::Body> ParseTemplate() {
    std::string_view found;
    return ParseBody({}, &found);
  }

 private:
  // Parses until a {% name %} with name in end_names (consumed up to the name) or the end.
  Result<ast::Body> ParseBody(std::initializer_list<std::string_view> end_names,
                              std::string_view* found) {
    ast::Body body;
    while (true) {
      const Token& t = ts_.Peek();
      switch (t.kind) {
        case TokenKind::kEof:
          if (end_names.size() == 0) return body;
          return ts_.Error(
              t, "unexpected end of template, expected '" + std::string(*end_names.begin()) + "'");
        case TokenKind::kText: {
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kText;
          s->offset = t.offset;
          s->text = ts_.Next().value;
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kVarBegin: {
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kOutput;
          s->offset = ts_.Next().offset;
          ASSIGN_OR_RETURN(s->expr, exprs_.ParseTuple(/*with_condexpr=*/true));
          if (ts_.Peek().kind != TokenKind::kVarEnd)
            return ts_.Expected("end of print statement '}}'");
          ts_.Next();
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kBlockBegin: {
          const Token& name = ts_.Peek(1);
          if (name.kind == TokenKind::kName) {
            for (std::string_view end : end_names) {
              if (name.value == end) {
                ts_.Next();
                *found = ts_.Next().value;
                return body;
              }
            }
          }
          RETURN_IF_ERROR(ParseStatement(body));
          break;
        }
        default:
          return ts_.Error(t, "unexpected " + TokenStream::Describe(t));
      }
    }
  }

  Status ParseStatement(ast::Body& out) {
    const Token& begin = ts_.Next();
    TokenStream::NestingGuard guard(ts_.nesting());
    RETURN_IF_ERROR(ts_.Enter(begin));
    if (ts_.Peek().kind != TokenKind::kName) return ts_.Expected("a statement name");
    const Token& keyword = ts_.Next();
    const std::string& k = keyword.value;
    auto s = std::make_unique<Stmt>();
    s->offset = keyword.offset;
    if (k == "if") {
      RETURN_IF_ERROR(ParseIf(*s));
    } else if (k == "for") {
      RETURN_IF_ERROR(ParseFor(*s));
    } else if (k == "set") {
      RETURN_IF_ERROR(ParseSet(*s));
    } else if (k == "macro") {
      RETURN_IF_ERROR(ParseMacro(*s));
    } else if (k == "call") {
      RETURN_IF_ERROR(ParseCallBlock(*s));
    } else if (k == "filter") {
      RETURN_IF_ERROR(ParseFilterBlock(*s));
    } else if (k == "print") {
      s->kind = Stmt::Kind::kOutput;
      ASSIGN_OR_RETURN(s->expr, exprs_.ParseTuple(/*with_condexpr=*/true));
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    } else if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) return ts_.Error(keyword, "'" + k + "' outside of a loop");
      s->kind = k == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    } else if (k == "generation") {
      // transformers' assistant-mask marker: the body renders as if the tag were absent.
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
      std::string_view found;
      ASSIGN_OR_RETURN(ast::Body body, ParseBody({"endgeneration"}, &found));
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
      for (auto& stmt : body) out.push_back(std::move(stmt));
      return Status::Ok();
    } else {
      return ts_.Error(keyword, "unknown or unsupported tag '" + k + "'");
    }
    out.push_back(std::move(s));
    return Status::Ok();
  }

  Status ParseIf(Stmt& s) {
    s.kind = Stmt::Kind::kIf;
    while (true) {
      ASSIGN_OR_RETURN(ExprPtr cond, exprs_.ParseTuple(/*with_condexpr=*/false));
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
      std::string_view found;
      ASSIGN_OR_RETURN(ast::Body body, ParseBody({"elif", "else", "endif"}, &found));
      s.conditions.push_back(std::move(cond));
      s.bodies.push_back(std::move(body));
      if (found == "elif") continue;
      if (found == "else") {
        RETURN_IF_ERROR(ts_.ExpectBlockEnd());
        ASSIGN_OR_RETURN(s.else_body, ParseBody({"endif"}, &found));
      }
      return ts_.ExpectBlockEnd();
    }
  }

  // Names for for/set targets: `a`, `a, b` or `(a, b)`.
  Status ParseTargets(Stmt& s) {
    bool parens = ts_.SkipOp("(");
    do {
      ASSIGN_OR_RETURN(std::string name, ts_.ExpectIdentifier());
      s.targets.push_back(std::move(name));
    } while (ts_.SkipOp(","));
    s.targets_tuple = parens || s.targets.size() > 1;
    if (parens) RETURN_IF_ERROR(ts_.ExpectOp(")"));
    return Status::Ok();
  }

  Status ParseFor(Stmt& s) {
    s.kind = Stmt::Kind::kFor;
    RETURN_IF_ERROR(ParseTargets(s));
    RETURN_IF_ERROR(ts_.ExpectName("in"));
    ASSIGN_OR_RETURN(s.expr, exprs_.ParseTuple(/*with_condexpr=*/false));
    if (ts_.SkipName("if")) {
      ASSIGN_OR_RETURN(s.filter, exprs_.ParseExpression(/*with_condexpr=*/true));
    }
    if (ts_.IsName("recursive")) return ts_.Error(ts_.Peek(), "recursive loops are not supported");
    RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    ++loop_depth_;
    std::string_view found;
    auto body = ParseBody({"endfor", "else"}, &found);
    --loop_depth_;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    if (found == "else") {
      RETURN_IF_ERROR(ts_.ExpectBlockEnd());
      ASSIGN_OR_RETURN(s.else_body, ParseBody({"endfor"}, &found));
    }
    return ts_.ExpectBlockEnd();
  }

  Status ParseSet(Stmt& s) {
    if (ts_.Peek().kind == TokenKind::kName && ts_.IsOp(".", 1)) {
      s.targets.push_back(ts_.Next().value);
      ts_.Next();
      ASSIGN_OR_RETURN(s.attribute, ts_.ExpectIdentifier());
    } else {
      RETURN_IF_ERROR(ParseTargets(s));
    }
    if (ts_.SkipOp("=")) {
      s.kind = Stmt::Kind::kSet;
      ASSIGN_OR_RETURN(s.expr, exprs_.ParseTuple(/*with_condexpr=*/true));
      return ts_.ExpectBlockEnd();
    }
    if (!s.attribute.empty() || s.targets.size() != 1) return ts_.Expected("'='");
    s.kind = Stmt::Kind::kSetBlock;
    if (ts_.IsOp("|")) {
      ASSIGN_OR_RETURN(s.filter, exprs_.ParseFilterChain(nullptr, /*leading_pipe=*/true));
    }
    RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    std::string_view found;
    ASSIGN_OR_RETURN(s.body, ParseBody({"endset"}, &found));
    return ts_.ExpectBlockEnd();
  }

  Status ParseParameters(std::vector<ast::Parameter>& params) {
    RETURN_IF_ERROR(ts_.ExpectOp("("));
    while (!ts_.IsOp(")")) {
      if (!params.empty()) RETURN_IF_ERROR(ts_.ExpectOp(","));
      if (ts_.IsOp(")")) break;
      ast::Parameter p;
      ASSIGN_OR_RETURN(p.name, ts_.ExpectIdentifier());
      if (ts_.SkipOp("=")) {
        ASSIGN_OR_RETURN(p.default_value, exprs_.ParseExpression(/*with_condexpr=*/true));
      } else if (!params.empty() && params.back().default_value) {
        return ts_.Error(ts_.Peek(), "non-default argument follows default argument");
      }
      params.push_back(std::move(p));
    }
    return ts_.ExpectOp(")");
  }

  Status ParseMacro(Stmt& s) {
    s.kind = Stmt::Kind::kMacro;
    ASSIGN_OR_RETURN(s.name, ts_.ExpectIdentifier());
    RETURN_IF_ERROR(ParseParameters(s.params));
    RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    // break/continue inside a macro cannot reach a loop around its definition.
    int saved_loop_depth = std::exchange(loop_depth_, 0);
    std::string_view found;
    auto body = ParseBody({"endmacro"}, &found);
    loop_depth_ = saved_loop_depth;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    return ts_.ExpectBlockEnd();
  }

  Status ParseCallBlock(Stmt& s) {
    s.kind = Stmt::Kind::kCallBlock;
    if (ts_.IsOp("(")) RETURN_IF_ERROR(ParseParameters(s.params));
    const Token& at = ts_.Peek();
    ASSIGN_OR_RETURN(s.expr, exprs_.ParseExpression(/*with_condexpr=*/true));
    if (s.expr->kind != Expr::Kind::kCall) return ts_.Error(at, "expected a call after 'call'");
    RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    int saved_loop_depth = std::exchange(loop_depth_, 0);
    std::string_view found;
    auto body = ParseBody({"endcall"}, &found);
    loop_depth_ = saved_loop_depth;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    return ts_.ExpectBlockEnd();
  }

  Status ParseFilterBlock(Stmt& s) {
    s.kind = Stmt::Kind::kFilterBlock;
    ASSIGN_OR_RETURN(s.filter, exprs_.ParseFilterChain(nullptr, /*leading_pipe=*/false));
    RETURN_IF_ERROR(ts_.ExpectBlockEnd());
    std::string_view found;
    ASSIGN_OR_RETURN(s.body, ParseBody({"endfilter"}, &found));
    return ts_.ExpectBlockEnd();
  }

  TokenStream ts_;
  ExpressionParser exprs_;
  int loop_depth_ = 0;
};

}  // namespace

Result<ast::Body> Parse(std::string_view source, const std::vector<Token>& tokens) {
  return Parser(source, tokens).ParseTemplate();
}

}  // namespace ts::jinja
