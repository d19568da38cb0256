#include "text/jinja/interpreter.h"

#include "text/jinja/filters.h"
#include "text/jinja/globals.h"
#include "text/jinja/lexer.h"
#include "text/jinja/operators.h"
#include "text/jinja/tests.h"

namespace ts::jinja {

using ast::Expr;
using ast::Stmt;

const Value* Scope::Find(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent_.get()) {
    if (const Value* v = s->vars_.Find(name)) return v;
  }
  return nullptr;
}

class Interpreter::DepthGuard {
 public:
  explicit DepthGuard(Interpreter& in) : in_(in) { ++in_.depth_; }
  ~DepthGuard() { --in_.depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

  Status Check() const {
    if (in_.depth_ > in_.limits_.max_depth) {
      return ResourceExhausted("chat template nested or recursed deeper than " +
                               std::to_string(in_.limits_.max_depth) + " levels");
    }
    return Status::Ok();
  }

 private:
  Interpreter& in_;
};

Interpreter::Interpreter(std::string_view source, const RenderLimits& limits,
                         std::chrono::system_clock::time_point now)
    : source_(source), limits_(limits), now_(now) {}

Interpreter::~Interpreter() {
  // Namespaces are the only mutable values, so every reference cycle runs through one;
  // emptying them all frees what the cycles held.
  for (auto& ns : namespaces_) ns->dict.Clear();
}

Result<std::string> Interpreter::Render(const ast::Body& body, const Value& context) {
  auto globals = std::make_shared<Scope>(nullptr);
  InstallGlobals(*globals);
  auto top = std::make_shared<Scope>(globals);
  for (const auto& [key, value] : context.as_dict().entries()) top->Set(key, value);
  std::string out;
  RETURN_IF_ERROR(ExecBody(body, top, out).status());
  return out;
}

Status Interpreter::ChargeBytes(size_t bytes) {
  if (bytes > remaining_alloc_bytes()) {
    return ResourceExhausted("chat template built more than " +
                             std::to_string(limits_.max_alloc_bytes) + " bytes");
  }
  alloc_bytes_ += bytes;
  return Status::Ok();
}

size_t Interpreter::remaining_alloc_bytes() const {
  return alloc_bytes_ >= limits_.max_alloc_bytes ? 0 : limits_.max_alloc_bytes - alloc_bytes_;
}

Result<Value> Interpreter::MakeString(std::string s) {
  RETURN_IF_ERROR(ChargeBytes(s.size()));
  return Value(std::move(s));
}

Result<Value> Interpreter::MakeList(std::vector<Value> items, bool is_tuple) {
  RETURN_IF_ERROR(ChargeBytes(items.size() * 16));
  return Value::MakeList(std::move(items), is_tuple);
}

Value Interpreter::MakeNamespace(Dict dict) {
  auto ns = std::make_shared<Namespace>();
  ns->dict = std::move(dict);
  namespaces_.push_back(ns);
  return Value(std::move(ns));
}

Result<Value> Interpreter::Call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) return UndefinedError(callee);
  if (!callee.is_callable()) {
    return InvalidArgument(std::string("'") + std::string(callee.TypeName()) +
                           "' object is not callable");
  }
  return callee.as_callable().fn(*this, args);
}

Status Interpreter::Locate(const Status& status, uint32_t offset) {
  if (error_located_) return status;
  error_located_ = true;
  return Status(status.code(),
                "chat template " + DescribePosition(source_, offset) + ": " + status.message());
}

Status Interpreter::Step() {
  if (++steps_ > limits_.max_steps) {
    return ResourceExhausted(std::string("chat template ran more than ") +
                             std::to_string(limits_.max_steps) + " steps");
  }
  return Status::Ok();
}

Status Interpreter::Append(std::string& out, std::string_view text) {
  RETURN_IF_ERROR(ChargeBytes(text.size()));
  if (out.size() + text.size() > limits_.max_output_bytes) {
    return ResourceExhausted("chat template output exceeds " +
                             std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out.append(text);
  return Status::Ok();
}

Result<std::string> Interpreter::Capture(const ast::Body& body, const ScopePtr& scope) {
  std::string buffer;
  RETURN_IF_ERROR(ExecBody(body, scope, buffer).status());
  return buffer;
}

// ---- statements ----

Result<Interpreter::Flow> Interpreter::ExecBody(const ast::Body& body, const ScopePtr& scope,
                                                std::string& out) {
  for (const auto& stmt : body) {
    ASSIGN_OR_RETURN(Flow flow, Exec(*stmt, scope, out));
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Result<Interpreter::Flow> Interpreter::Exec(const Stmt& s, const ScopePtr& scope,
                                            std::string& out) {
  DepthGuard guard(*this);
  Status status = guard.Check();
  if (status.ok()) status = Step();
  if (!status.ok()) return Locate(status, s.offset);
  auto result = ExecInner(s, scope, out);
  if (!result.ok()) return Locate(result.status(), s.offset);
  return result;
}

Result<Interpreter::Flow> Interpreter::ExecInner(const Stmt& s, const ScopePtr& scope,
                                                 std::string& out) {
  switch (s.kind) {
    case Stmt::Kind::kText:
      RETURN_IF_ERROR(Append(out, s.text));
      return Flow::kNormal;
    case Stmt::Kind::kOutput: {
      ASSIGN_OR_RETURN(Value v, Eval(*s.expr, scope));
      ASSIGN_OR_RETURN(std::string text, ToStr(v));
      RETURN_IF_ERROR(Append(out, text));
      return Flow::kNormal;
    }
    case Stmt::Kind::kIf:
      for (size_t i = 0; i < s.conditions.size(); ++i) {
        ASSIGN_OR_RETURN(Value cond, Eval(*s.conditions[i], scope));
        if (cond.IsTruthy()) return ExecBody(s.bodies[i], scope, out);
      }
      return ExecBody(s.else_body, scope, out);
    case Stmt::Kind::kFor:
      return ExecFor(s, scope, out);
    case Stmt::Kind::kSet:
      RETURN_IF_ERROR(ExecSet(s, scope));
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock: {
      ASSIGN_OR_RETURN(std::string text, Capture(s.body, scope));
      Value value(std::move(text));
      if (s.filter) {
        ASSIGN_OR_RETURN(value, EvalFilter(*s.filter, scope, &value));
      }
      scope->Set(s.targets[0], std::move(value));
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      scope->Set(s.name, MakeMacro(s, scope));
      return Flow::kNormal;
    case Stmt::Kind::kCallBlock:
      RETURN_IF_ERROR(ExecCallBlock(s, scope, out));
      return Flow::kNormal;
    case Stmt::Kind::kFilterBlock: {
      ASSIGN_OR_RETURN(std::string text, Capture(s.body, scope));
      Value seed(std::move(text));
      ASSIGN_OR_RETURN(Value filtered, EvalFilter(*s.filter, scope, &seed));
      ASSIGN_OR_RETURN(std::string rendered, ToStr(filtered));
      RETURN_IF_ERROR(Append(out, rendered));
      return Flow::kNormal;
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
  }
  return Internal("unknown statement");
}

Result<Interpreter::Flow> Interpreter::ExecFor(const Stmt& s, const ScopePtr& scope,
                                               std::string& out) {
  ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, scope));
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(*this, iterable));
  if (s.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      RETURN_IF_ERROR(Step());
      auto probe = std::make_shared<Scope>(scope);
      RETURN_IF_ERROR(Assign(s.targets, s.targets_tuple, item, *probe));
      ASSIGN_OR_RETURN(Value cond, Eval(*s.filter, probe));
      if (cond.IsTruthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return ExecBody(s.else_body, scope, out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    RETURN_IF_ERROR(Step());
    auto iteration = std::make_shared<Scope>(scope);
    RETURN_IF_ERROR(Assign(s.targets, s.targets_tuple, items[i], *iteration));
    Dict loop;
    loop.Reserve(11);
    loop.Set("index", Value(i + 1));
    loop.Set("index0", Value(i));
    loop.Set("revindex", Value(n - i));
    loop.Set("revindex0", Value(n - i - 1));
    loop.Set("first", Value(i == 0));
    loop.Set("last", Value(i == n - 1));
    loop.Set("length", Value(n));
    loop.Set("depth", Value(1));
    loop.Set("depth0", Value(0));
    if (i > 0) loop.Set("previtem", items[i - 1]);
    if (i + 1 < n) loop.Set("nextitem", items[i + 1]);
    ASSIGN_OR_RETURN(Value loop_value, Value::MakeDict(std::move(loop)));
    iteration->Set("loop", std::move(loop_value));
    ASSIGN_OR_RETURN(Flow flow, ExecBody(s.body, iteration, out));
    if (flow == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Status Interpreter::Assign(const std::vector<std::string>& targets, bool tuple, const Value& value,
                           Scope& scope) {
  if (!tuple) {
    scope.Set(targets[0], value);
    return Status::Ok();
  }
  if (!value.is_list()) {
    return InvalidArgument(std::string("cannot unpack non-iterable ") +
                           std::string(value.TypeName()) + " object");
  }
  const auto& items = value.as_list();
  if (items.size() != targets.size()) {
    return InvalidArgument(std::string(items.size() > targets.size() ? "too many" : "not enough") +
                           std::string(" values to unpack (expected ") +
                           std::to_string(targets.size()) + std::string(", got ") +
                           std::to_string(items.size()) + ")");
  }
  for (size_t i = 0; i < targets.size(); ++i) scope.Set(targets[i], items[i]);
  return Status::Ok();
}

Status Interpreter::ExecSet(const Stmt& s, const ScopePtr& scope) {
  ASSIGN_OR_RETURN(Value value, Eval(*s.expr, scope));
  if (s.attribute.empty()) return Assign(s.targets, s.targets_tuple, value, *scope);
  const Value* target = scope->Find(s.targets[0]);
  if (target == nullptr || !target->is_namespace()) {
    return InvalidArgument("cannot assign attribute on non-namespace object '" + s.targets[0] +
                           "'");
  }
  target->as_namespace().dict.Set(s.attribute, std::move(value));
  return Status::Ok();
}

Value Interpreter::MakeMacro(const Stmt& s, const ScopePtr& scope) {
  auto fn = std::make_shared<Callable>();
  fn->name = s.name.empty() ? "caller" : s.name;
  // A weak reference: the macro lives in the scope it captures, and a strong one would be a
  // cycle that outlives the render.
  std::weak_ptr<Scope> closure = scope;
  const Stmt* stmt = &s;
  fn->fn = [stmt, closure](Interpreter& in, CallArgs& args) {
    return in.CallMacro(*stmt, closure, args);
  };
  return Value(std::shared_ptr<const Callable>(std::move(fn)));
}

Result<Value> Interpreter::CallMacro(const Stmt& s, const std::weak_ptr<Scope>& closure,
                                     CallArgs& args) {
  const std::string name = s.name.empty() ? "caller" : s.name;
  ScopePtr parent = closure.lock();
  if (!parent) {
    return FailedPrecondition("macro '" + name + "' called after the scope defining it ended");
  }
  DepthGuard guard(*this);
  RETURN_IF_ERROR(guard.Check());
  auto scope = std::make_shared<Scope>(parent);
  const size_t num_params = s.params.size();
  std::vector<bool> bound(num_params, false);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < num_params) {
      scope->Set(s.params[i].name, args.positional[i]);
      bound[i] = true;
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  Dict kwargs;
  for (auto& [key, value] : args.keyword) {
    size_t i = 0;
    while (i < num_params && s.params[i].name != key) ++i;
    if (i < num_params) {
      if (bound[i]) {
        return InvalidArgument("macro '" + name + "' got multiple values for argument '" + key +
                               "'");
      }
      scope->Set(key, value);
      bound[i] = true;
    } else if (key == "caller") {
      scope->Set(key, value);
    } else {
      kwargs.Set(key, value);
    }
  }
  for (size_t i = 0; i < num_params; ++i) {
    if (bound[i]) continue;
    const ast::Parameter& p = s.params[i];
    if (p.default_value) {
      ASSIGN_OR_RETURN(Value v, Eval(*p.default_value, scope));
      scope->Set(p.name, std::move(v));
    } else {
      scope->Set(p.name, Value::MakeUndefined("parameter '" + p.name + "' was not provided"));
    }
  }
  ASSIGN_OR_RETURN(Value varargs_value, MakeList(std::move(varargs), /*is_tuple=*/true));
  ASSIGN_OR_RETURN(Value kwargs_value, Value::MakeDict(std::move(kwargs)));
  scope->Set("varargs", std::move(varargs_value));
  scope->Set("kwargs", std::move(kwargs_value));
  ASSIGN_OR_RETURN(std::string text, Capture(s.body, scope));
  return Value(std::move(text));
}

Status Interpreter::ExecCallBlock(const Stmt& s, const ScopePtr& scope, std::string& out) {
  const Expr& call = *s.expr;
  ASSIGN_OR_RETURN(Value callee, Eval(*call.items[0], scope));
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(call.args, scope));
  args.keyword.emplace_back("caller", MakeMacro(s, scope));
  ASSIGN_OR_RETURN(Value result, Call(callee, args));
  ASSIGN_OR_RETURN(std::string text, ToStr(result));
  return Append(out, text);
}

// ---- expressions ----

Result<Value> Interpreter::Eval(const Expr& e, const ScopePtr& scope) {
  DepthGuard guard(*this);
  Status status = guard.Check();
  if (status.ok()) status = Step();
  if (!status.ok()) return Locate(status, e.offset);
  auto result = EvalInner(e, scope);
  if (!result.ok()) return Locate(result.status(), e.offset);
  return result;
}

Result<Value> Interpreter::EvalInner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName: {
      const Value* v = scope->Find(e.name);
      if (v != nullptr) return *v;
      return Value::MakeUndefined("'" + e.name + "' is undefined");
    }
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (const auto& item : e.items) {
        ASSIGN_OR_RETURN(Value v, Eval(*item, scope));
        items.push_back(std::move(v));
      }
      return MakeList(std::move(items), e.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      Dict dict;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        ASSIGN_OR_RETURN(Value key, Eval(*e.items[i], scope));
        if (!key.is_string()) return InvalidArgument("dict keys must be strings");
        ASSIGN_OR_RETURN(Value value, Eval(*e.items[i + 1], scope));
        dict.Set(key.as_string(), std::move(value));
      }
      RETURN_IF_ERROR(ChargeBytes(dict.size() * 16));
      return Value::MakeDict(std::move(dict));
    }
    case Expr::Kind::kNot: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.items[0], scope));
      return Value(!v.IsTruthy());
    }
    case Expr::Kind::kNeg:
    case Expr::Kind::kPos: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.items[0], scope));
      return Negate(v, e.kind == Expr::Kind::kNeg);
    }
    case Expr::Kind::kBinary: {
      ASSIGN_OR_RETURN(Value left, Eval(*e.items[0], scope));
      if (e.binary_op == ast::BinaryOp::kAnd) {
        return left.IsTruthy() ? Eval(*e.items[1], scope) : Result<Value>(left);
      }
      if (e.binary_op == ast::BinaryOp::kOr) {
        return left.IsTruthy() ? Result<Value>(left) : Eval(*e.items[1], scope);
      }
      ASSIGN_OR_RETURN(Value right, Eval(*e.items[1], scope));
      return BinaryOperation(*this, e.binary_op, left, right);
    }
    case Expr::Kind::kCompare:
      return EvalCompare(e, scope);
    case Expr::Kind::kTernary: {
      ASSIGN_OR_RETURN(Value cond, Eval(*e.items[1], scope));
      if (cond.IsTruthy()) return Eval(*e.items[0], scope);
      if (e.items[2]) return Eval(*e.items[2], scope);
      return Value::MakeUndefined("the inline if-expression evaluated to false and has no else");
    }
    case Expr::Kind::kAttribute: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.items[0], scope));
      return GetAttribute(obj, e.name);
    }
    case Expr::Kind::kSubscript: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.items[0], scope));
      ASSIGN_OR_RETURN(Value key, Eval(*e.items[1], scope));
      return GetItem(*this, obj, key);
    }
    case Expr::Kind::kSlice: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.items[0], scope));
      Value bounds[3];
      const Value* present[3] = {nullptr, nullptr, nullptr};
      for (int i = 0; i < 3; ++i) {
        if (!e.items[i + 1]) continue;
        ASSIGN_OR_RETURN(bounds[i], Eval(*e.items[i + 1], scope));
        present[i] = &bounds[i];
      }
      return GetSlice(*this, obj, present[0], present[1], present[2]);
    }
    case Expr::Kind::kCall: {
      ASSIGN_OR_RETURN(Value callee, Eval(*e.items[0], scope));
      ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
      return Call(callee, args);
    }
    case Expr::Kind::kFilter:
      return EvalFilter(e, scope, nullptr);
    case Expr::Kind::kTest: {
      ASSIGN_OR_RETURN(Value operand, Eval(*e.items[0], scope));
      ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
      ASSIGN_OR_RETURN(bool result, ApplyTest(e.name, operand, args));
      return Value(result != e.negated);
    }
  }
  return Internal("unknown expression");
}

Result<Value> Interpreter::EvalCompare(const Expr& e, const ScopePtr& scope) {
  ASSIGN_OR_RETURN(Value left, Eval(*e.items[0], scope));
  for (size_t i = 0; i < e.compare_ops.size(); ++i) {
    ASSIGN_OR_RETURN(Value right, Eval(*e.items[i + 1], scope));
    bool holds = false;
    switch (e.compare_ops[i]) {
      case ast::CompareOp::kEq:
      case ast::CompareOp::kNe: {
        ASSIGN_OR_RETURN(bool eq, Equals(left, right));
        holds = eq == (e.compare_ops[i] == ast::CompareOp::kEq);
        break;
      }
      case ast::CompareOp::kIn:
      case ast::CompareOp::kNotIn: {
        ASSIGN_OR_RETURN(bool in, Contains(right, left));
        holds = in == (e.compare_ops[i] == ast::CompareOp::kIn);
        break;
      }
      default: {
        if (left.is_undefined()) return UndefinedError(left);
        if (right.is_undefined()) return UndefinedError(right);
        ASSIGN_OR_RETURN(int c, Compare(left, right));
        switch (e.compare_ops[i]) {
          case ast::CompareOp::kLt:
            holds = c < 0;
            break;
          case ast::CompareOp::kLe:
            holds = c <= 0;
            break;
          case ast::CompareOp::kGt:
            holds = c > 0;
            break;
          default:
            holds = c >= 0;
        }
      }
    }
    if (!holds) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Result<Value> Interpreter::EvalFilter(const Expr& e, const ScopePtr& scope, const Value* seed) {
  Value operand;
  if (!e.items[0]) {
    operand = *seed;
  } else if (seed != nullptr && e.items[0]->kind == Expr::Kind::kFilter) {
    ASSIGN_OR_RETURN(operand, EvalFilter(*e.items[0], scope, seed));
  } else {
    ASSIGN_OR_RETURN(operand, Eval(*e.items[0], scope));
  }
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
  return ApplyFilter(*this, e.name, operand, args);
}

Result<CallArgs> Interpreter::EvalArgs(const ast::Arguments& args, const ScopePtr& scope) {
  CallArgs out;
  for (const auto& arg : args.positional) {
    ASSIGN_OR_RETURN(Value v, Eval(*arg, scope));
    out.positional.push_back(std::move(v));
  }
  for (const auto& [key, arg] : args.keyword) {
    ASSIGN_OR_RETURN(Value v, Eval(*arg, scope));
    out.keyword.emplace_back(key, std::move(v));
  }
  return out;
}

}  // namespace ts::jinja
