// ExpressionParser: Jinja2 expressions -> ast::Expr, by recursive descent with Jinja's own
// grammar and precedence (jinja2/parser.py): ternary < or < and < not < comparisons (chained,
// in, not in) < + - < ~ < * / // % < ** < unary - + < postfix (.attr, [sub], [a:b:c], call)
// and | filter / is test. Every tree it returns is at most ast::kMaxAstDepth deep.
#pragma once

#include "base/status.h"
#include "text/jinja/ast.h"
#include "text/jinja/token_stream.h"

namespace ts::jinja {

class ExpressionParser {
 public:
  explicit ExpressionParser(TokenStream& ts) : ts_(ts) {}

  // expr [, expr]* : a bare comma list is a tuple. with_condexpr=false leaves a trailing
  // `if` to the caller (for-loop filters, if conditions).
  Result<ast::ExprPtr> ParseTuple(bool with_condexpr);
  Result<ast::ExprPtr> ParseExpression(bool with_condexpr);
  // name(args) [| name(args)]*, each applied to the previous; the first needs a leading '|'
  // unless it opens a {% filter %} block. operand may be null (block filters).
  Result<ast::ExprPtr> ParseFilterChain(ast::ExprPtr operand, bool leading_pipe);

 private:
  static ast::ExprPtr NewExpr(ast::Expr::Kind kind, uint32_t offset);
  Result<ast::ExprPtr> Seal(ast::ExprPtr e) const;
  bool AtExpressionEnd() const;
  Result<ast::ExprPtr> MakeBinary(ast::BinaryOp op, ast::ExprPtr left, ast::ExprPtr right,
                                  uint32_t offset);
  Result<ast::ExprPtr> ParseOr();
  Result<ast::ExprPtr> ParseAnd();
  Result<ast::ExprPtr> ParseNot();
  Result<ast::ExprPtr> ParseCompare();
  Result<ast::ExprPtr> ParseMath1();
  Result<ast::ExprPtr> ParseConcat();
  Result<ast::ExprPtr> ParseMath2();
  Result<ast::ExprPtr> ParsePow();
  Result<ast::ExprPtr> ParseUnary(bool with_filter);
  Result<ast::ExprPtr> ParsePrimary();
  Result<ast::ExprPtr> ParsePostfix(ast::ExprPtr node);
  Result<ast::ExprPtr> ParseSubscript(ast::ExprPtr node);
  Status ParseArguments(ast::Arguments& args);
  Result<ast::ExprPtr> ParseCall(ast::ExprPtr callee);
  Result<ast::ExprPtr> ParseFilterExpr(ast::ExprPtr node);
  Result<std::string> ParseDottedName();
  Result<ast::ExprPtr> ParseTest(ast::ExprPtr operand);
  bool StartsTestArgument() const;

  TokenStream& ts_;
};

}  // namespace ts::jinja
