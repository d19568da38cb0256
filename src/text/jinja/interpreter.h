// Interpreter: renders a parsed template (ast::Body) against a context, with Python Jinja2's
// semantics as transformers uses them (ImmutableSandboxedEnvironment, loopcontrols).
//
// One Interpreter per render, on one thread; it owns all mutable render state (scopes,
// namespaces, the budget), so a Template can be rendered by many threads at once.
//
// Scoping follows Jinja2: {% set %} writes the innermost scope; each for-loop iteration and
// each macro call has its own scope (so a set inside a loop does not outlive the iteration;
// namespace() objects are how templates carry state out); if-blocks share their parent's.
//
// Errors are values: the first failing node prefixes "chat template line L, column C: ".
// Limits (RenderLimits) are checked as the render goes and end it with kResourceExhausted.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/jinja/ast.h"
#include "text/jinja/render_limits.h"
#include "text/jinja/value.h"

namespace ts::jinja {

// A variable scope; lookups walk to the parent.
class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent) : parent_(std::move(parent)) {}
  const Value* Find(const std::string& name) const;
  void Set(const std::string& name, Value value) { vars_.Set(name, std::move(value)); }

 private:
  std::shared_ptr<Scope> parent_;
  Dict vars_;
};

class Interpreter {
 public:
  Interpreter(std::string_view source, const RenderLimits& limits,
              std::chrono::system_clock::time_point now);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // REQUIRES: context is a dict; its keys become template variables.
  Result<std::string> Render(const ast::Body& body, const Value& context);

  // ---- for filters, tests, methods and builtins ----

  // Charges bytes about to be allocated; fails once the render has built max_alloc_bytes.
  Status ChargeBytes(size_t bytes);
  size_t remaining_alloc_bytes() const;
  // A string or list whose allocation is charged first.
  Result<Value> MakeString(std::string s);
  Result<Value> MakeList(std::vector<Value> items, bool is_tuple = false);
  // A fresh namespace, tracked so cycles through it are broken when the render ends.
  Value MakeNamespace(Dict dict);
  // Calls a macro, builtin or bound method.
  Result<Value> Call(const Value& callee, CallArgs& args);
  std::chrono::system_clock::time_point now() const { return now_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using ScopePtr = std::shared_ptr<Scope>;

  class DepthGuard;

  Result<Flow> ExecBody(const ast::Body& body, const ScopePtr& scope, std::string& out);
  Result<Flow> Exec(const ast::Stmt& s, const ScopePtr& scope, std::string& out);
  Result<Flow> ExecInner(const ast::Stmt& s, const ScopePtr& scope, std::string& out);
  Result<Flow> ExecFor(const ast::Stmt& s, const ScopePtr& scope, std::string& out);
  Status ExecSet(const ast::Stmt& s, const ScopePtr& scope);
  Status ExecCallBlock(const ast::Stmt& s, const ScopePtr& scope, std::string& out);
  Status Append(std::string& out, std::string_view text);
  Result<std::string> Capture(const ast::Body& body, const ScopePtr& scope);

  Result<Value> Eval(const ast::Expr& e, const ScopePtr& scope);
  Result<Value> EvalInner(const ast::Expr& e, const ScopePtr& scope);
  Result<Value> EvalCompare(const ast::Expr& e, const ScopePtr& scope);
  Result<Value> EvalCall(const ast::Expr& e, const ScopePtr& scope);
  // Applies a filter chain; a chain node with no operand takes `seed` (filter blocks).
  Result<Value> EvalFilter(const ast::Expr& e, const ScopePtr& scope, const Value* seed);
  Result<CallArgs> EvalArgs(const ast::Arguments& args, const ScopePtr& scope);
  Status Assign(const std::vector<std::string>& targets, bool tuple, const Value& value,
                Scope& scope);

  Value MakeMacro(const ast::Stmt& s, const ScopePtr& scope);
  Result<Value> CallMacro(const ast::Stmt& s, const std::weak_ptr<Scope>& closure, CallArgs& args);

  Status Locate(const Status& status, uint32_t offset);
  Status Step();

  std::string_view source_;
  const RenderLimits& limits_;
  std::chrono::system_clock::time_point now_;
  int64_t steps_ = 0;
  size_t alloc_bytes_ = 0;
  int depth_ = 0;
  bool error_located_ = false;
  std::vector<std::shared_ptr<Namespace>> namespaces_;
};

}  // namespace ts::jinja
