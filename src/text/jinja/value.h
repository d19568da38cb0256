// Value: what a Jinja expression evaluates to while a template renders.
//
// The kinds mirror what chat templates see under Python's Jinja2 (the reference transformers
// renders with): undefined, none, bool, int, float, str, list/tuple, dict (insertion-ordered),
// namespace (the one mutable object, made by namespace()) and callables (macros, builtins, bound
// methods). Strings are UTF-8; lengths and indices count code points, as Python does.
//
// Values are cheap to copy: strings, lists and dicts are shared and never change after they are
// built (the ImmutableSandboxedEnvironment transformers uses forbids list.append and friends too),
// so a copy is a reference-count bump. Only a Namespace changes in place.
//
// Lists and dicts record their nesting depth when built; builders refuse to go past
// kMaxValueDepth, so destroying, printing or comparing any value never recurses without bound.
// Namespaces may form cycles (ns.self = ns); functions that walk values take a depth and stop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace ts::jinja {

class Value;
class Interpreter;

// Lists and dicts nest at most this deep; deeper values are refused when built.
inline constexpr int kMaxValueDepth = 128;

// An insertion-ordered string-keyed map (Python dicts keep insertion order). Small maps (most
// messages, every loop object and scope) are searched linearly; larger ones get a hash index.
class Dict {
 public:
  Dict() = default;
  Dict(const Dict& other) : entries_(other.entries_) { Reindex(); }
  Dict& operator=(const Dict& other);
  // Moving keeps the entries where they are, so the index stays valid.
  Dict(Dict&&) noexcept = default;
  Dict& operator=(Dict&&) noexcept = default;

  const Value* Find(std::string_view key) const;
  // Replaces the value of an existing key in place, else appends.
  void Set(std::string key, Value value);
  void Reserve(size_t n) { entries_.reserve(n); }
  void Clear();
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

 private:
  static constexpr size_t kIndexFrom = 12;  // entries from which index_ is kept

  // Position of key in entries_, or entries_.size() when absent.
  size_t IndexOf(std::string_view key) const;
  void Reindex();

  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string_view, size_t> index_;  // views into entries_' keys
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  int depth = 1;
};

struct DictData {
  Dict dict;
  int depth = 1;
};

// The object namespace() returns: attributes assignable with {% set ns.attr = ... %}.
struct Namespace {
  Dict dict;
};

// Arguments of a call, as written: f(a, b, key=c).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A macro, a builtin function or a bound method. The interpreter passes itself so a callable
// can charge the render budget, call back into templates (caller()) or report errors.
struct Callable {
  std::string name;
  std::function<Result<Value>(Interpreter&, CallArgs&)> fn;
};

// Undefined remembers why it is undefined, for the error when it is used wrongly.
struct Undefined {
  std::shared_ptr<const std::string> hint;  // e.g. "'foo' is undefined"; may be null
};
struct None {};

class Value {
 public:
  // Order matches the variant below.
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kCallable
  };

  Value() : v_(Undefined{}) {}
  static Value MakeUndefined(std::string hint);
  static Value MakeNone() { return Value(None{}); }
  explicit Value(bool b) : v_(b) {}
  explicit Value(int64_t i) : v_(i) {}
  explicit Value(int i) : v_(static_cast<int64_t>(i)) {}
  explicit Value(double d) : v_(d) {}
  explicit Value(std::string s) : v_(std::make_shared<const std::string>(std::move(s))) {}
  explicit Value(std::string_view s) : Value(std::string(s)) {}
  explicit Value(const char* s) : Value(std::string(s)) {}
  explicit Value(std::shared_ptr<Namespace> ns) : v_(std::move(ns)) {}
  explicit Value(std::shared_ptr<const Callable> fn) : v_(std::move(fn)) {}

  // Fail (kOutOfRange) when an item nests deeper than kMaxValueDepth.
  static Result<Value> MakeList(std::vector<Value> items, bool is_tuple = false);
  static Result<Value> MakeDict(Dict dict);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_tuple() const { return is_list() && list_data().is_tuple; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  // REQUIRES: the matching kind.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // Ints, floats and bools as a double (Python's numeric tower).
  double as_number() const;
  const std::string& as_string() const { return *std::get<StringPtr>(v_); }
  const std::vector<Value>& as_list() const { return list_data().items; }
  const Dict& as_dict() const { return std::get<DictPtr>(v_)->dict; }
  Namespace& as_namespace() const { return *std::get<NamespacePtr>(v_); }
  const Callable& as_callable() const { return *std::get<CallablePtr>(v_); }
  const std::string* undefined_hint() const { return std::get<Undefined>(v_).hint.get(); }

  // Nesting depth: 1 for scalars and namespaces, 1 + deepest item for lists and dicts.
  int depth() const;

  // Python truthiness: empty containers, 0, "", none and undefined are false.
  bool IsTruthy() const;

  // Python type name for messages ("str", "list", "dict", "NoneType", ...).
  std::string_view TypeName() const;

 private:
  using StringPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<const ListData>;
  using DictPtr = std::shared_ptr<const DictData>;
  using NamespacePtr = std::shared_ptr<Namespace>;
  using CallablePtr = std::shared_ptr<const Callable>;

  explicit Value(None n) : v_(n) {}
  const ListData& list_data() const { return *std::get<ListPtr>(v_); }

  std::variant<Undefined, None, bool, int64_t, double, StringPtr, ListPtr, DictPtr, NamespacePtr,
               CallablePtr>
      v_;

  friend bool SameObject(const Value& a, const Value& b);
};

// Python `a is b` for the kinds templates compare that way (none, bools, shared objects).
bool SameObject(const Value& a, const Value& b);

// Python ==: 1 == 1.0 == true, deep for lists and dicts, identity for namespaces and callables.
// Fails only when the values nest deeper than kMaxValueDepth (a namespace cycle).
Result<bool> Equals(const Value& a, const Value& b, int depth = 0);

// Python <: numbers with numbers, strings with strings (code point order), lists
// lexicographically. Returns -1, 0 or 1; fails for other pairs.
Result<int> Compare(const Value& a, const Value& b, int depth = 0);

// Python str(): what {{ value }} prints. Undefined prints as "".
Result<std::string> ToStr(const Value& v);
// Python repr(): 'text' with quotes, [1, 'a'], {'k': None}, (1, 2).
Result<std::string> ToRepr(const Value& v);

// Python repr() of a float: the shortest digits that read back to the same double, "1.0" for
// whole numbers, exponent form outside [1e-4, 1e16), "inf" and "nan".
std::string FloatRepr(double d);

}  // namespace ts::jinja
