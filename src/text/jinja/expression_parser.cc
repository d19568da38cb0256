#include "text/jinja/expression_parser.h"

#include <algorithm>
#include <utility>

namespace ts::jinja {

using ast::Expr;
using ast::ExprPtr;

ExprPtr ExpressionParser::NewExpr(Expr::Kind kind, uint32_t offset) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->offset = offset;
  return e;
}

// Computes the node's depth from its children and refuses trees deeper than kMaxAstDepth.
Result<ExprPtr> ExpressionParser::Seal(ExprPtr e) const {
  int deepest = 0;
  auto visit = [&](const ExprPtr& child) {
    if (child) deepest = std::max(deepest, child->depth);
  };
  for (const auto& child : e->items) visit(child);
  for (const auto& child : e->args.positional) visit(child);
  for (const auto& [key, child] : e->args.keyword) visit(child);
  e->depth = deepest + 1;
  if (e->depth > ast::kMaxAstDepth) {
    return InvalidArgument("chat template " + DescribePosition(ts_.source(), e->offset) +
                           ": expression nested too deeply");
  }
  return e;
}

// expr [, expr]* : a bare comma list is a tuple.
Result<ExprPtr> ExpressionParser::ParseTuple(bool with_condexpr) {
  uint32_t offset = ts_.Peek().offset;
  ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condexpr));
  if (!ts_.IsOp(",")) return first;
  auto tuple = NewExpr(Expr::Kind::kTuple, offset);
  tuple->items.push_back(std::move(first));
  while (ts_.SkipOp(",")) {
    if (AtExpressionEnd()) break;
    ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(with_condexpr));
    tuple->items.push_back(std::move(item));
  }
  return Seal(std::move(tuple));
}

bool ExpressionParser::AtExpressionEnd() const {
  TokenKind k = ts_.Peek().kind;
  return k == TokenKind::kVarEnd || k == TokenKind::kBlockEnd || k == TokenKind::kEof ||
         ts_.IsOp(")") || ts_.IsName("in") || ts_.IsName("if");
}

Result<ExprPtr> ExpressionParser::ParseExpression(bool with_condexpr) {
  TokenStream::NestingGuard guard(ts_.nesting());
  RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
  if (!with_condexpr) return ParseOr();
  ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
  while (ts_.IsName("if")) {
    auto ternary = NewExpr(Expr::Kind::kTernary, ts_.Next().offset);
    ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
    ExprPtr otherwise;
    if (ts_.SkipName("else")) {
      ASSIGN_OR_RETURN(otherwise, ParseExpression(/*with_condexpr=*/true));
    }
    ternary->items.push_back(std::move(expr));
    ternary->items.push_back(std::move(cond));
    ternary->items.push_back(std::move(otherwise));
    ASSIGN_OR_RETURN(expr, Seal(std::move(ternary)));
  }
  return expr;
}

Result<ExprPtr> ExpressionParser::MakeBinary(ast::BinaryOp op, ExprPtr left, ExprPtr right,
                                             uint32_t offset) {
  auto e = NewExpr(Expr::Kind::kBinary, offset);
  e->binary_op = op;
  e->items.push_back(std::move(left));
  e->items.push_back(std::move(right));
  return Seal(std::move(e));
}

Result<ExprPtr> ExpressionParser::ParseOr() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (ts_.IsName("or")) {
    uint32_t offset = ts_.Next().offset;
    ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    ASSIGN_OR_RETURN(left,
                     MakeBinary(ast::BinaryOp::kOr, std::move(left), std::move(right), offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParseAnd() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (ts_.IsName("and")) {
    uint32_t offset = ts_.Next().offset;
    ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    ASSIGN_OR_RETURN(left,
                     MakeBinary(ast::BinaryOp::kAnd, std::move(left), std::move(right), offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParseNot() {
  if (ts_.IsName("not")) {
    TokenStream::NestingGuard guard(ts_.nesting());
    RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
    auto e = NewExpr(Expr::Kind::kNot, ts_.Next().offset);
    ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
    e->items.push_back(std::move(operand));
    return Seal(std::move(e));
  }
  return ParseCompare();
}

Result<ExprPtr> ExpressionParser::ParseCompare() {
  uint32_t offset = ts_.Peek().offset;
  ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  ExprPtr cmp;
  while (true) {
    ast::CompareOp op;
    const Token& t = ts_.Peek();
    if (t.kind == TokenKind::kOp && t.value == "==") {
      op = ast::CompareOp::kEq;
    } else if (t.kind == TokenKind::kOp && t.value == "!=") {
      op = ast::CompareOp::kNe;
    } else if (t.kind == TokenKind::kOp && t.value == "<") {
      op = ast::CompareOp::kLt;
    } else if (t.kind == TokenKind::kOp && t.value == "<=") {
      op = ast::CompareOp::kLe;
    } else if (t.kind == TokenKind::kOp && t.value == ">") {
      op = ast::CompareOp::kGt;
    } else if (t.kind == TokenKind::kOp && t.value == ">=") {
      op = ast::CompareOp::kGe;
    } else if (ts_.IsName("in")) {
      op = ast::CompareOp::kIn;
    } else if (ts_.IsName("not") && ts_.IsName("in", 1)) {
      ts_.Next();
      op = ast::CompareOp::kNotIn;
    } else {
      break;
    }
    ts_.Next();
    if (!cmp) {
      cmp = NewExpr(Expr::Kind::kCompare, offset);
      cmp->items.push_back(std::move(first));
    }
    ASSIGN_OR_RETURN(ExprPtr right, ParseMath1());
    cmp->compare_ops.push_back(op);
    cmp->items.push_back(std::move(right));
  }
  if (!cmp) return first;
  return Seal(std::move(cmp));
}

Result<ExprPtr> ExpressionParser::ParseMath1() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (ts_.IsOp("+") || ts_.IsOp("-")) {
    const Token& t = ts_.Next();
    auto op = t.value == "+" ? ast::BinaryOp::kAdd : ast::BinaryOp::kSub;
    ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    ASSIGN_OR_RETURN(left, MakeBinary(op, std::move(left), std::move(right), t.offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParseConcat() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
  while (ts_.IsOp("~")) {
    uint32_t offset = ts_.Next().offset;
    ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
    ASSIGN_OR_RETURN(left,
                     MakeBinary(ast::BinaryOp::kConcat, std::move(left), std::move(right), offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParseMath2() {
  ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (ts_.IsOp("*") || ts_.IsOp("/") || ts_.IsOp("//") || ts_.IsOp("%")) {
    const Token& t = ts_.Next();
    auto op = t.value == "*"    ? ast::BinaryOp::kMul
              : t.value == "/"  ? ast::BinaryOp::kDiv
              : t.value == "//" ? ast::BinaryOp::kFloorDiv
                                : ast::BinaryOp::kMod;
    ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    ASSIGN_OR_RETURN(left, MakeBinary(op, std::move(left), std::move(right), t.offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParsePow() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(/*with_filter=*/true));
  while (ts_.IsOp("**")) {
    uint32_t offset = ts_.Next().offset;
    ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(/*with_filter=*/true));
    ASSIGN_OR_RETURN(left,
                     MakeBinary(ast::BinaryOp::kPow, std::move(left), std::move(right), offset));
  }
  return left;
}

Result<ExprPtr> ExpressionParser::ParseUnary(bool with_filter) {
  TokenStream::NestingGuard guard(ts_.nesting());
  RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
  ExprPtr node;
  if (ts_.IsOp("-") || ts_.IsOp("+")) {
    const Token& t = ts_.Next();
    node = NewExpr(t.value == "-" ? Expr::Kind::kNeg : Expr::Kind::kPos, t.offset);
    ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(/*with_filter=*/false));
    node->items.push_back(std::move(operand));
    ASSIGN_OR_RETURN(node, Seal(std::move(node)));
  } else {
    ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) {
    ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
  }
  return node;
}

Result<ExprPtr> ExpressionParser::ParsePrimary() {
  const Token& t = ts_.Peek();
  switch (t.kind) {
    case TokenKind::kName: {
      ts_.Next();
      auto e = NewExpr(Expr::Kind::kLiteral, t.offset);
      if (t.value == "true" || t.value == "True") {
        e->literal = Value(true);
      } else if (t.value == "false" || t.value == "False") {
        e->literal = Value(false);
      } else if (t.value == "none" || t.value == "None") {
        e->literal = Value::MakeNone();
      } else {
        e->kind = Expr::Kind::kName;
        e->name = t.value;
      }
      return e;
    }
    case TokenKind::kString: {
      auto e = NewExpr(Expr::Kind::kLiteral, t.offset);
      std::string text;
      while (ts_.Peek().kind == TokenKind::kString) text += ts_.Next().value;
      e->literal = Value(std::move(text));
      return e;
    }
    case TokenKind::kInt: {
      auto e = NewExpr(Expr::Kind::kLiteral, ts_.Next().offset);
      e->literal = Value(t.int_value);
      return e;
    }
    case TokenKind::kFloat: {
      auto e = NewExpr(Expr::Kind::kLiteral, ts_.Next().offset);
      e->literal = Value(t.float_value);
      return e;
    }
    default:
      break;
  }
  if (ts_.IsOp("(")) {
    uint32_t offset = ts_.Next().offset;
    if (ts_.SkipOp(")")) return Seal(NewExpr(Expr::Kind::kTuple, offset));
    ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(/*with_condexpr=*/true));
    if (ts_.SkipOp(")")) return first;
    auto tuple = NewExpr(Expr::Kind::kTuple, offset);
    tuple->items.push_back(std::move(first));
    while (ts_.SkipOp(",")) {
      if (ts_.IsOp(")")) break;
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(/*with_condexpr=*/true));
      tuple->items.push_back(std::move(item));
    }
    RETURN_IF_ERROR(ts_.ExpectOp(")"));
    return Seal(std::move(tuple));
  }
  if (ts_.IsOp("[")) {
    auto list = NewExpr(Expr::Kind::kList, ts_.Next().offset);
    while (!ts_.IsOp("]")) {
      if (!list->items.empty()) RETURN_IF_ERROR(ts_.ExpectOp(","));
      if (ts_.IsOp("]")) break;
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(/*with_condexpr=*/true));
      list->items.push_back(std::move(item));
    }
    ts_.Next();
    return Seal(std::move(list));
  }
  if (ts_.IsOp("{")) {
    auto dict = NewExpr(Expr::Kind::kDict, ts_.Next().offset);
    while (!ts_.IsOp("}")) {
      if (!dict->items.empty()) RETURN_IF_ERROR(ts_.ExpectOp(","));
      if (ts_.IsOp("}")) break;
      ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(/*with_condexpr=*/true));
      RETURN_IF_ERROR(ts_.ExpectOp(":"));
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
      dict->items.push_back(std::move(key));
      dict->items.push_back(std::move(value));
    }
    ts_.Next();
    return Seal(std::move(dict));
  }
  return ts_.Error(t, "unexpected " + TokenStream::Describe(t));
}

Result<ExprPtr> ExpressionParser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (ts_.IsOp(".")) {
      uint32_t offset = ts_.Next().offset;
      const Token& t = ts_.Peek();
      if (t.kind == TokenKind::kName) {
        auto e = NewExpr(Expr::Kind::kAttribute, offset);
        e->name = ts_.Next().value;
        e->items.push_back(std::move(node));
        ASSIGN_OR_RETURN(node, Seal(std::move(e)));
      } else if (t.kind == TokenKind::kInt) {
        auto e = NewExpr(Expr::Kind::kSubscript, offset);
        auto index = NewExpr(Expr::Kind::kLiteral, ts_.Next().offset);
        index->literal = Value(t.int_value);
        e->items.push_back(std::move(node));
        e->items.push_back(std::move(index));
        ASSIGN_OR_RETURN(node, Seal(std::move(e)));
      } else {
        return ts_.Expected("an attribute name");
      }
    } else if (ts_.IsOp("[")) {
      ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (ts_.IsOp("(")) {
      ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

// [index] or [start:stop:step] with any part left out.
Result<ExprPtr> ExpressionParser::ParseSubscript(ExprPtr node) {
  TokenStream::NestingGuard guard(ts_.nesting());
  RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
  uint32_t offset = ts_.Next().offset;
  ExprPtr parts[3];
  int part = 0;
  bool is_slice = false;
  while (!ts_.IsOp("]")) {
    if (ts_.SkipOp(":")) {
      is_slice = true;
      if (++part > 2) return ts_.Error(ts_.Peek(), "too many ':' in slice");
      continue;
    }
    if (parts[part]) return ts_.Expected("']'");
    ASSIGN_OR_RETURN(parts[part], ParseExpression(/*with_condexpr=*/true));
  }
  ts_.Next();
  if (!is_slice && !parts[0]) return ts_.Error(ts_.Peek(), "empty subscript");
  auto e = NewExpr(is_slice ? Expr::Kind::kSlice : Expr::Kind::kSubscript, offset);
  e->items.push_back(std::move(node));
  e->items.push_back(std::move(parts[0]));
  if (is_slice) {
    e->items.push_back(std::move(parts[1]));
    e->items.push_back(std::move(parts[2]));
  }
  return Seal(std::move(e));
}

Status ExpressionParser::ParseArguments(ast::Arguments& args) {
  TokenStream::NestingGuard guard(ts_.nesting());
  RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
  RETURN_IF_ERROR(ts_.ExpectOp("("));
  bool first = true;
  while (!ts_.IsOp(")")) {
    if (!first) RETURN_IF_ERROR(ts_.ExpectOp(","));
    first = false;
    if (ts_.IsOp(")")) break;
    if (ts_.IsOp("*") || ts_.IsOp("**"))
      return ts_.Error(ts_.Peek(), "argument unpacking is not supported");
    if (ts_.Peek().kind == TokenKind::kName && ts_.IsOp("=", 1)) {
      std::string key = ts_.Next().value;
      ts_.Next();
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
      args.keyword.emplace_back(std::move(key), std::move(value));
    } else {
      if (!args.keyword.empty()) {
        return ts_.Error(ts_.Peek(), "positional argument follows keyword argument");
      }
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
      args.positional.push_back(std::move(value));
    }
  }
  ts_.Next();
  return Status::Ok();
}

Result<ExprPtr> ExpressionParser::ParseCall(ExprPtr callee) {
  auto e = NewExpr(Expr::Kind::kCall, callee->offset);
  RETURN_IF_ERROR(ParseArguments(e->args));
  e->items.push_back(std::move(callee));
  return Seal(std::move(e));
}

// Postfix filters and tests: x | f(args) | g, x is [not] test [arg], x(...) after a filter.
Result<ExprPtr> ExpressionParser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (ts_.IsOp("|")) {
      ASSIGN_OR_RETURN(node, ParseFilterChain(std::move(node), /*leading_pipe=*/true));
    } else if (ts_.IsName("is")) {
      ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (ts_.IsOp("(")) {
      ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

// name(args) [| name(args)]*, each applied to the previous; the first needs a leading '|'
// unless it opens a {% filter %} block.
Result<ExprPtr> ExpressionParser::ParseFilterChain(ExprPtr operand, bool leading_pipe) {
  bool first = true;
  while ((first && !leading_pipe) || ts_.SkipOp("|")) {
    first = false;
    uint32_t offset = ts_.Peek().offset;
    ASSIGN_OR_RETURN(std::string name, ParseDottedName());
    auto e = NewExpr(Expr::Kind::kFilter, offset);
    e->name = std::move(name);
    if (ts_.IsOp("(")) RETURN_IF_ERROR(ParseArguments(e->args));
    e->items.push_back(std::move(operand));
    ASSIGN_OR_RETURN(operand, Seal(std::move(e)));
  }
  return operand;
}

Result<std::string> ExpressionParser::ParseDottedName() {
  ASSIGN_OR_RETURN(std::string name, ts_.ExpectIdentifier());
  while (ts_.IsOp(".") && ts_.Peek(1).kind == TokenKind::kName) {
    ts_.Next();
    name += "." + ts_.Next().value;
  }
  return name;
}

Result<ExprPtr> ExpressionParser::ParseTest(ExprPtr operand) {
  uint32_t offset = ts_.Next().offset;
  auto e = NewExpr(Expr::Kind::kTest, offset);
  e->negated = ts_.SkipName("not");
  ASSIGN_OR_RETURN(e->name, ParseDottedName());
  if (ts_.IsOp("(")) {
    RETURN_IF_ERROR(ParseArguments(e->args));
  } else if (StartsTestArgument()) {
    TokenStream::NestingGuard guard(ts_.nesting());
    RETURN_IF_ERROR(ts_.Enter(ts_.Peek()));
    ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    e->args.positional.push_back(std::move(arg));
  }
  e->items.push_back(std::move(operand));
  return Seal(std::move(e));
}

// `x is divisibleby 3`, `x is sameas false`: a test may take one argument without parens.
bool ExpressionParser::StartsTestArgument() const {
  const Token& t = ts_.Peek();
  if (t.kind == TokenKind::kName) {
    static constexpr std::string_view kStops[] = {"else", "or", "and", "if", "in", "is", "not"};
    return std::find(std::begin(kStops), std::end(kStops), t.value) == std::end(kStops);
  }
  return t.kind == TokenKind::kString || t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat ||
         ts_.IsOp("[") || ts_.IsOp("{");
}

}  // namespace ts::jinja
