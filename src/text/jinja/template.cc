#include "text/jinja/template.h"

#include "text/jinja/filters.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/json_convert.h"
#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"
#include "text/jinja/tests.h"

namespace ts::jinja {

namespace {

// Jinja rejects unknown filters and tests when it compiles a template; so do we.
class NameChecker {
 public:
  explicit NameChecker(std::string_view source) : source_(source) {}

  Status Check(const ast::Body& body) {
    for (const auto& stmt : body) RETURN_IF_ERROR(Check(*stmt));
    return Status::Ok();
  }

 private:
  Status Check(const ast::Stmt& s) {
    for (const ast::ExprPtr* e : {&s.expr, &s.filter}) RETURN_IF_ERROR(Check(e->get()));
    for (const auto& cond : s.conditions) RETURN_IF_ERROR(Check(cond.get()));
    for (const auto& param : s.params) RETURN_IF_ERROR(Check(param.default_value.get()));
    for (const auto& body : s.bodies) RETURN_IF_ERROR(Check(body));
    RETURN_IF_ERROR(Check(s.body));
    return Check(s.else_body);
  }

  Status Check(const ast::Expr* e) {
    if (e == nullptr) return Status::Ok();
    if (e->kind == ast::Expr::Kind::kFilter && !IsFilter(e->name)) {
      return Error(*e, "unknown filter '" + e->name + "'");
    }
    if (e->kind == ast::Expr::Kind::kTest && !IsTest(e->name)) {
      return Error(*e, "unknown test '" + e->name + "'");
    }
    for (const auto& child : e->items) RETURN_IF_ERROR(Check(child.get()));
    for (const auto& child : e->args.positional) RETURN_IF_ERROR(Check(child.get()));
    for (const auto& [key, child] : e->args.keyword) RETURN_IF_ERROR(Check(child.get()));
    return Status::Ok();
  }

  Status Error(const ast::Expr& e, const std::string& message) const {
    return InvalidArgument("chat template " + DescribePosition(source_, e.offset) + ": " + message);
  }

  std::string_view source_;
};

template <typename Json>
Result<std::string> RenderJson(const Template& t, const Json& context, const RenderLimits& limits) {
  if (!context.is_object()) return InvalidArgument("chat template context must be a JSON object");
  ASSIGN_OR_RETURN(Value value, FromJson(context));
  return t.Render(value, limits, std::chrono::system_clock::now());
}

}  // namespace

Result<Template> Template::Parse(std::string_view source) {
  auto normalized = std::make_shared<const std::string>(NormalizeSource(source));
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(*normalized));
  ASSIGN_OR_RETURN(ast::Body body, jinja::Parse(*normalized, tokens));
  RETURN_IF_ERROR(NameChecker(*normalized).Check(body));
  return Template(normalized, std::make_shared<const ast::Body>(std::move(body)));
}

Result<std::string> Template::Render(const nlohmann::ordered_json& context,
                                     const RenderLimits& limits) const {
  return RenderJson(*this, context, limits);
}

Result<std::string> Template::Render(const nlohmann::json& context,
                                     const RenderLimits& limits) const {
  return RenderJson(*this, context, limits);
}

Result<std::string> Template::Render(const Value& context, const RenderLimits& limits,
                                     std::chrono::system_clock::time_point now) const {
  if (!context.is_dict()) return InvalidArgument("chat template context must be a mapping");
  Interpreter interpreter(*source_, limits, now);
  return interpreter.Render(*body_, context);
}

}  // namespace ts::jinja
