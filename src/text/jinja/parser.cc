#include "text/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace ts::jinja {

namespace {

using ast::Expr;
using ast::ExprPtr;
using ast::Stmt;
using ast::StmtPtr;

// Statements, brackets and parentheses nest at most this deep.
constexpr int kMaxNesting = 100;

std::string Describe(const Token& t) {
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

class Parser {
 public:
  Parser(std::string_view source, const std::vector<Token>& tokens)
      : src_(source), tokens_(tokens) {}

  Result<ast::Body> ParseTemplate() {
    std::string_view found;
    return ParseBody({}, &found);
  }

 private:
  // RAII nesting counter; Enter() fails past kMaxNesting.
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
    return Error(Peek(), std::string("expected ") + std::string(what) + ", got " + Describe(Peek()));
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
  Status Enter(const Token& at) const {
    if (nesting_ > kMaxNesting) return Error(at, "template nested too deeply");
    return Status::Ok();
  }

  static ExprPtr NewExpr(Expr::Kind kind, uint32_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }
  // Computes the node's depth from its children and refuses trees deeper than kMaxAstDepth.
  Result<ExprPtr> Seal(ExprPtr e) const {
    int deepest = 0;
    auto visit = [&](const ExprPtr& child) {
      if (child) deepest = std::max(deepest, child->depth);
    };
    for (const auto& child : e->items) visit(child);
    for (const auto& child : e->args.positional) visit(child);
    for (const auto& [key, child] : e->args.keyword) visit(child);
    e->depth = deepest + 1;
    if (e->depth > ast::kMaxAstDepth) {
      return InvalidArgument("chat template " + DescribePosition(src_, e->offset) +
                             ": expression nested too deeply");
    }
    return e;
  }

  // ---- statements ----

  // Parses until a {% name %} with name in end_names (consumed up to the name) or the end.
  Result<ast::Body> ParseBody(std::initializer_list<std::string_view> end_names,
                              std::string_view* found) {
    ast::Body body;
    while (true) {
      const Token& t = Peek();
      switch (t.kind) {
        case TokenKind::kEof:
          if (end_names.size() == 0) return body;
          return Error(t, "unexpected end of template, expected '" +
                              std::string(*end_names.begin()) + "'");
        case TokenKind::kText: {
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kText;
          s->offset = t.offset;
          s->text = Next().value;
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kVarBegin: {
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kOutput;
          s->offset = Next().offset;
          ASSIGN_OR_RETURN(s->expr, ParseTuple(/*with_condexpr=*/true));
          if (Peek().kind != TokenKind::kVarEnd) return Expected("end of print statement '}}'");
          Next();
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kBlockBegin: {
          const Token& name = Peek(1);
          if (name.kind == TokenKind::kName) {
            for (std::string_view end : end_names) {
              if (name.value == end) {
                Next();
                *found = Next().value;
                return body;
              }
            }
          }
          RETURN_IF_ERROR(ParseStatement(body));
          break;
        }
        default:
          return Error(t, "unexpected " + Describe(t));
      }
    }
  }

  Status ParseStatement(ast::Body& out) {
    const Token& begin = Next();
    NestingGuard guard(nesting_);
    RETURN_IF_ERROR(Enter(begin));
    if (Peek().kind != TokenKind::kName) return Expected("a statement name");
    const Token& keyword = Next();
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
      ASSIGN_OR_RETURN(s->expr, ParseTuple(/*with_condexpr=*/true));
      RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) return Error(keyword, "'" + k + "' outside of a loop");
      s->kind = k == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (k == "generation") {
      // transformers' assistant-mask marker: the body renders as if the tag were absent.
      RETURN_IF_ERROR(ExpectBlockEnd());
      std::string_view found;
      ASSIGN_OR_RETURN(ast::Body body, ParseBody({"endgeneration"}, &found));
      RETURN_IF_ERROR(ExpectBlockEnd());
      for (auto& stmt : body) out.push_back(std::move(stmt));
      return Status::Ok();
    } else {
      return Error(keyword, "unknown or unsupported tag '" + k + "'");
    }
    out.push_back(std::move(s));
    return Status::Ok();
  }

  Status ParseIf(Stmt& s) {
    s.kind = Stmt::Kind::kIf;
    while (true) {
      ASSIGN_OR_RETURN(ExprPtr cond, ParseTuple(/*with_condexpr=*/false));
      RETURN_IF_ERROR(ExpectBlockEnd());
      std::string_view found;
      ASSIGN_OR_RETURN(ast::Body body, ParseBody({"elif", "else", "endif"}, &found));
      s.conditions.push_back(std::move(cond));
      s.bodies.push_back(std::move(body));
      if (found == "elif") continue;
      if (found == "else") {
        RETURN_IF_ERROR(ExpectBlockEnd());
        ASSIGN_OR_RETURN(s.else_body, ParseBody({"endif"}, &found));
      }
      return ExpectBlockEnd();
    }
  }

  // Names for for/set targets: `a`, `a, b` or `(a, b)`.
  Status ParseTargets(Stmt& s) {
    bool parens = SkipOp("(");
    do {
      ASSIGN_OR_RETURN(std::string name, ExpectIdentifier());
      s.targets.push_back(std::move(name));
    } while (SkipOp(","));
    s.targets_tuple = parens || s.targets.size() > 1;
    if (parens) RETURN_IF_ERROR(ExpectOp(")"));
    return Status::Ok();
  }

  Status ParseFor(Stmt& s) {
    s.kind = Stmt::Kind::kFor;
    RETURN_IF_ERROR(ParseTargets(s));
    RETURN_IF_ERROR(ExpectName("in"));
    ASSIGN_OR_RETURN(s.expr, ParseTuple(/*with_condexpr=*/false));
    if (SkipName("if")) {
      ASSIGN_OR_RETURN(s.filter, ParseExpression(/*with_condexpr=*/true));
    }
    if (IsName("recursive")) return Error(Peek(), "recursive loops are not supported");
    RETURN_IF_ERROR(ExpectBlockEnd());
    ++loop_depth_;
    std::string_view found;
    auto body = ParseBody({"endfor", "else"}, &found);
    --loop_depth_;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    if (found == "else") {
      RETURN_IF_ERROR(ExpectBlockEnd());
      ASSIGN_OR_RETURN(s.else_body, ParseBody({"endfor"}, &found));
    }
    return ExpectBlockEnd();
  }

  Status ParseSet(Stmt& s) {
    if (Peek().kind == TokenKind::kName && IsOp(".", 1)) {
      s.targets.push_back(Next().value);
      Next();
      ASSIGN_OR_RETURN(s.attribute, ExpectIdentifier());
    } else {
      RETURN_IF_ERROR(ParseTargets(s));
    }
    if (SkipOp("=")) {
      s.kind = Stmt::Kind::kSet;
      ASSIGN_OR_RETURN(s.expr, ParseTuple(/*with_condexpr=*/true));
      return ExpectBlockEnd();
    }
    if (!s.attribute.empty() || s.targets.size() != 1) return Expected("'='");
    s.kind = Stmt::Kind::kSetBlock;
    if (IsOp("|")) {
      ASSIGN_OR_RETURN(s.filter, ParseFilterChain(nullptr, /*leading_pipe=*/true));
    }
    RETURN_IF_ERROR(ExpectBlockEnd());
    std::string_view found;
    ASSIGN_OR_RETURN(s.body, ParseBody({"endset"}, &found));
    return ExpectBlockEnd();
  }

  Status ParseParameters(std::vector<ast::Parameter>& params) {
    RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      if (!params.empty()) RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
      ast::Parameter p;
      ASSIGN_OR_RETURN(p.name, ExpectIdentifier());
      if (SkipOp("=")) {
        ASSIGN_OR_RETURN(p.default_value, ParseExpression(/*with_condexpr=*/true));
      } else if (!params.empty() && params.back().default_value) {
        return Error(Peek(), "non-default argument follows default argument");
      }
      params.push_back(std::move(p));
    }
    return ExpectOp(")");
  }

  Status ParseMacro(Stmt& s) {
    s.kind = Stmt::Kind::kMacro;
    ASSIGN_OR_RETURN(s.name, ExpectIdentifier());
    RETURN_IF_ERROR(ParseParameters(s.params));
    RETURN_IF_ERROR(ExpectBlockEnd());
    // break/continue inside a macro cannot reach a loop around its definition.
    int saved_loop_depth = std::exchange(loop_depth_, 0);
    std::string_view found;
    auto body = ParseBody({"endmacro"}, &found);
    loop_depth_ = saved_loop_depth;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    return ExpectBlockEnd();
  }

  Status ParseCallBlock(Stmt& s) {
    s.kind = Stmt::Kind::kCallBlock;
    if (IsOp("(")) RETURN_IF_ERROR(ParseParameters(s.params));
    const Token& at = Peek();
    ASSIGN_OR_RETURN(s.expr, ParseExpression(/*with_condexpr=*/true));
    if (s.expr->kind != Expr::Kind::kCall) return Error(at, "expected a call after 'call'");
    RETURN_IF_ERROR(ExpectBlockEnd());
    int saved_loop_depth = std::exchange(loop_depth_, 0);
    std::string_view found;
    auto body = ParseBody({"endcall"}, &found);
    loop_depth_ = saved_loop_depth;
    if (!body.ok()) return body.status();
    s.body = std::move(body).value();
    return ExpectBlockEnd();
  }

  Status ParseFilterBlock(Stmt& s) {
    s.kind = Stmt::Kind::kFilterBlock;
    ASSIGN_OR_RETURN(s.filter, ParseFilterChain(nullptr, /*leading_pipe=*/false));
    RETURN_IF_ERROR(ExpectBlockEnd());
    std::string_view found;
    ASSIGN_OR_RETURN(s.body, ParseBody({"endfilter"}, &found));
    return ExpectBlockEnd();
  }

  // ---- expressions ----

  // expr [, expr]* : a bare comma list is a tuple.
  Result<ExprPtr> ParseTuple(bool with_condexpr) {
    uint32_t offset = Peek().offset;
    ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condexpr));
    if (!IsOp(",")) return first;
    auto tuple = NewExpr(Expr::Kind::kTuple, offset);
    tuple->items.push_back(std::move(first));
    while (SkipOp(",")) {
      if (AtExpressionEnd()) break;
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(with_condexpr));
      tuple->items.push_back(std::move(item));
    }
    return Seal(std::move(tuple));
  }

  bool AtExpressionEnd() const {
    TokenKind k = Peek().kind;
    return k == TokenKind::kVarEnd || k == TokenKind::kBlockEnd || k == TokenKind::kEof ||
           IsOp(")") || IsName("in") || IsName("if");
  }

  Result<ExprPtr> ParseExpression(bool with_condexpr) {
    NestingGuard guard(nesting_);
    RETURN_IF_ERROR(Enter(Peek()));
    if (!with_condexpr) return ParseOr();
    ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
    while (IsName("if")) {
      auto ternary = NewExpr(Expr::Kind::kTernary, Next().offset);
      ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
      ExprPtr otherwise;
      if (SkipName("else")) {
        ASSIGN_OR_RETURN(otherwise, ParseExpression(/*with_condexpr=*/true));
      }
      ternary->items.push_back(std::move(expr));
      ternary->items.push_back(std::move(cond));
      ternary->items.push_back(std::move(otherwise));
      ASSIGN_OR_RETURN(expr, Seal(std::move(ternary)));
    }
    return expr;
  }

  Result<ExprPtr> MakeBinary(ast::BinaryOp op, ExprPtr left, ExprPtr right, uint32_t offset) {
    auto e = NewExpr(Expr::Kind::kBinary, offset);
    e->binary_op = op;
    e->items.push_back(std::move(left));
    e->items.push_back(std::move(right));
    return Seal(std::move(e));
  }

  Result<ExprPtr> ParseOr() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      uint32_t offset = Next().offset;
      ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      ASSIGN_OR_RETURN(left, MakeBinary(ast::BinaryOp::kOr, std::move(left), std::move(right), offset));
    }
    return left;
  }

  Result<ExprPtr> ParseAnd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      uint32_t offset = Next().offset;
      ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      ASSIGN_OR_RETURN(left, MakeBinary(ast::BinaryOp::kAnd, std::move(left), std::move(right), offset));
    }
    return left;
  }

  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      NestingGuard guard(nesting_);
      RETURN_IF_ERROR(Enter(Peek()));
      auto e = NewExpr(Expr::Kind::kNot, Next().offset);
      ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      e->items.push_back(std::move(operand));
      return Seal(std::move(e));
    }
    return ParseCompare();
  }

  Result<ExprPtr> ParseCompare() {
    uint32_t offset = Peek().offset;
    ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    ExprPtr cmp;
    while (true) {
      ast::CompareOp op;
      const Token& t = Peek();
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
      } else if (IsName("in")) {
        op = ast::CompareOp::kIn;
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        op = ast::CompareOp::kNotIn;
      } else {
        break;
      }
      Next();
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

  Result<ExprPtr> ParseMath1() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      const Token& t = Next();
      auto op = t.value == "+" ? ast::BinaryOp::kAdd : ast::BinaryOp::kSub;
      ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      ASSIGN_OR_RETURN(left, MakeBinary(op, std::move(left), std::move(right), t.offset));
    }
    return left;
  }

  Result<ExprPtr> ParseConcat() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
    while (IsOp("~")) {
      uint32_t offset = Next().offset;
      ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
      ASSIGN_OR_RETURN(left,
                       MakeBinary(ast::BinaryOp::kConcat, std::move(left), std::move(right), offset));
    }
    return left;
  }

  Result<ExprPtr> ParseMath2() {
    ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& t = Next();
      auto op = t.value == "*"    ? ast::BinaryOp::kMul
                : t.value == "/"  ? ast::BinaryOp::kDiv
                : t.value == "//" ? ast::BinaryOp::kFloorDiv
                                  : ast::BinaryOp::kMod;
      ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
      ASSIGN_OR_RETURN(left, MakeBinary(op, std::move(left), std::move(right), t.offset));
    }
    return left;
  }

  Result<ExprPtr> ParsePow() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(/*with_filter=*/true));
    while (IsOp("**")) {
      uint32_t offset = Next().offset;
      ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(/*with_filter=*/true));
      ASSIGN_OR_RETURN(left, MakeBinary(ast::BinaryOp::kPow, std::move(left), std::move(right), offset));
    }
    return left;
  }

  Result<ExprPtr> ParseUnary(bool with_filter) {
    NestingGuard guard(nesting_);
    RETURN_IF_ERROR(Enter(Peek()));
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& t = Next();
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

  Result<ExprPtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kName: {
        Next();
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
        while (Peek().kind == TokenKind::kString) text += Next().value;
        e->literal = Value(std::move(text));
        return e;
      }
      case TokenKind::kInt: {
        auto e = NewExpr(Expr::Kind::kLiteral, Next().offset);
        e->literal = Value(t.int_value);
        return e;
      }
      case TokenKind::kFloat: {
        auto e = NewExpr(Expr::Kind::kLiteral, Next().offset);
        e->literal = Value(t.float_value);
        return e;
      }
      default:
        break;
    }
    if (IsOp("(")) {
      uint32_t offset = Next().offset;
      if (SkipOp(")")) return Seal(NewExpr(Expr::Kind::kTuple, offset));
      ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(/*with_condexpr=*/true));
      if (SkipOp(")")) return first;
      auto tuple = NewExpr(Expr::Kind::kTuple, offset);
      tuple->items.push_back(std::move(first));
      while (SkipOp(",")) {
        if (IsOp(")")) break;
        ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(/*with_condexpr=*/true));
        tuple->items.push_back(std::move(item));
      }
      RETURN_IF_ERROR(ExpectOp(")"));
      return Seal(std::move(tuple));
    }
    if (IsOp("[")) {
      auto list = NewExpr(Expr::Kind::kList, Next().offset);
      while (!IsOp("]")) {
        if (!list->items.empty()) RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp("]")) break;
        ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(/*with_condexpr=*/true));
        list->items.push_back(std::move(item));
      }
      Next();
      return Seal(std::move(list));
    }
    if (IsOp("{")) {
      auto dict = NewExpr(Expr::Kind::kDict, Next().offset);
      while (!IsOp("}")) {
        if (!dict->items.empty()) RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp("}")) break;
        ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(/*with_condexpr=*/true));
        RETURN_IF_ERROR(ExpectOp(":"));
        ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
        dict->items.push_back(std::move(key));
        dict->items.push_back(std::move(value));
      }
      Next();
      return Seal(std::move(dict));
    }
    return Error(t, "unexpected " + Describe(t));
  }

  Result<ExprPtr> ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        uint32_t offset = Next().offset;
        const Token& t = Peek();
        if (t.kind == TokenKind::kName) {
          auto e = NewExpr(Expr::Kind::kAttribute, offset);
          e->name = Next().value;
          e->items.push_back(std::move(node));
          ASSIGN_OR_RETURN(node, Seal(std::move(e)));
        } else if (t.kind == TokenKind::kInt) {
          auto e = NewExpr(Expr::Kind::kSubscript, offset);
          auto index = NewExpr(Expr::Kind::kLiteral, Next().offset);
          index->literal = Value(t.int_value);
          e->items.push_back(std::move(node));
          e->items.push_back(std::move(index));
          ASSIGN_OR_RETURN(node, Seal(std::move(e)));
        } else {
          return Expected("an attribute name");
        }
      } else if (IsOp("[")) {
        ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
      } else if (IsOp("(")) {
        ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  // [index] or [start:stop:step] with any part left out.
  Result<ExprPtr> ParseSubscript(ExprPtr node) {
    NestingGuard guard(nesting_);
    RETURN_IF_ERROR(Enter(Peek()));
    uint32_t offset = Next().offset;
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!IsOp("]")) {
      if (SkipOp(":")) {
        is_slice = true;
        if (++part > 2) return Error(Peek(), "too many ':' in slice");
        continue;
      }
      if (parts[part]) return Expected("']'");
      ASSIGN_OR_RETURN(parts[part], ParseExpression(/*with_condexpr=*/true));
    }
    Next();
    if (!is_slice && !parts[0]) return Error(Peek(), "empty subscript");
    auto e = NewExpr(is_slice ? Expr::Kind::kSlice : Expr::Kind::kSubscript, offset);
    e->items.push_back(std::move(node));
    e->items.push_back(std::move(parts[0]));
    if (is_slice) {
      e->items.push_back(std::move(parts[1]));
      e->items.push_back(std::move(parts[2]));
    }
    return Seal(std::move(e));
  }

  Status ParseArguments(ast::Arguments& args) {
    NestingGuard guard(nesting_);
    RETURN_IF_ERROR(Enter(Peek()));
    RETURN_IF_ERROR(ExpectOp("("));
    bool first = true;
    while (!IsOp(")")) {
      if (!first) RETURN_IF_ERROR(ExpectOp(","));
      first = false;
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) return Error(Peek(), "argument unpacking is not supported");
      if (Peek().kind == TokenKind::kName && IsOp("=", 1)) {
        std::string key = Next().value;
        Next();
        ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
        args.keyword.emplace_back(std::move(key), std::move(value));
      } else {
        if (!args.keyword.empty()) {
          return Error(Peek(), "positional argument follows keyword argument");
        }
        ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(/*with_condexpr=*/true));
        args.positional.push_back(std::move(value));
      }
    }
    Next();
    return Status::Ok();
  }

  Result<ExprPtr> ParseCall(ExprPtr callee) {
    auto e = NewExpr(Expr::Kind::kCall, callee->offset);
    RETURN_IF_ERROR(ParseArguments(e->args));
    e->items.push_back(std::move(callee));
    return Seal(std::move(e));
  }

  // Postfix filters and tests: x | f(args) | g, x is [not] test [arg], x(...) after a filter.
  Result<ExprPtr> ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        ASSIGN_OR_RETURN(node, ParseFilterChain(std::move(node), /*leading_pipe=*/true));
      } else if (IsName("is")) {
        ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
      } else if (IsOp("(")) {
        ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  // name(args) [| name(args)]*, each applied to the previous; the first needs a leading '|'
  // unless it opens a {% filter %} block.
  Result<ExprPtr> ParseFilterChain(ExprPtr operand, bool leading_pipe) {
    bool first = true;
    while ((first && !leading_pipe) || SkipOp("|")) {
      first = false;
      uint32_t offset = Peek().offset;
      ASSIGN_OR_RETURN(std::string name, ParseDottedName());
      auto e = NewExpr(Expr::Kind::kFilter, offset);
      e->name = std::move(name);
      if (IsOp("(")) RETURN_IF_ERROR(ParseArguments(e->args));
      e->items.push_back(std::move(operand));
      ASSIGN_OR_RETURN(operand, Seal(std::move(e)));
    }
    return operand;
  }

  Result<std::string> ParseDottedName() {
    ASSIGN_OR_RETURN(std::string name, ExpectIdentifier());
    while (IsOp(".") && Peek(1).kind == TokenKind::kName) {
      Next();
      name += "." + Next().value;
    }
    return name;
  }

  Result<ExprPtr> ParseTest(ExprPtr operand) {
    uint32_t offset = Next().offset;
    auto e = NewExpr(Expr::Kind::kTest, offset);
    e->negated = SkipName("not");
    ASSIGN_OR_RETURN(e->name, ParseDottedName());
    if (IsOp("(")) {
      RETURN_IF_ERROR(ParseArguments(e->args));
    } else if (StartsTestArgument()) {
      NestingGuard guard(nesting_);
      RETURN_IF_ERROR(Enter(Peek()));
      ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
      ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
      e->args.positional.push_back(std::move(arg));
    }
    e->items.push_back(std::move(operand));
    return Seal(std::move(e));
  }

  // `x is divisibleby 3`, `x is sameas false`: a test may take one argument without parens.
  bool StartsTestArgument() const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kName) {
      static constexpr std::string_view kStops[] = {"else", "or", "and", "if", "in", "is", "not"};
      return std::find(std::begin(kStops), std::end(kStops), t.value) == std::end(kStops);
    }
    return t.kind == TokenKind::kString || t.kind == TokenKind::kInt ||
           t.kind == TokenKind::kFloat || IsOp("[") || IsOp("{");
  }

  std::string_view src_;
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Result<ast::Body> Parse(std::string_view source, const std::vector<Token>& tokens) {
  return Parser(source, tokens).ParseTemplate();
}

}  // namespace ts::jinja
