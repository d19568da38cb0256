#include "text/jinja/operators.h"

#include <cmath>
#include <limits>

#include "text/jinja/methods.h"
#include "text/jinja/utf8.h"

namespace ts::jinja {

namespace {

Status TypeError(std::string_view op, const Value& a, const Value& b) {
  return InvalidArgument(std::string("unsupported operand type(s) for ") + std::string(op) + ": '" +
                         std::string(a.TypeName()) + std::string("' and '") +
                         std::string(b.TypeName()) + "'");
}

std::string_view OpName(ast::BinaryOp op) {
  switch (op) {
    case ast::BinaryOp::kAdd:
      return "+";
    case ast::BinaryOp::kSub:
      return "-";
    case ast::BinaryOp::kMul:
      return "*";
    case ast::BinaryOp::kDiv:
      return "/";
    case ast::BinaryOp::kFloorDiv:
      return "//";
    case ast::BinaryOp::kMod:
      return "%";
    case ast::BinaryOp::kPow:
      return "**";
    case ast::BinaryOp::kConcat:
      return "~";
    case ast::BinaryOp::kAnd:
      return "and";
    case ast::BinaryOp::kOr:
      return "or";
  }
  return "?";
}

bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t IntOf(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

Status Overflow() { return OutOfRange("integer result does not fit in 64 bits"); }

Result<Value> IntArithmetic(ast::BinaryOp op, int64_t x, int64_t y) {
  int64_t r = 0;
  switch (op) {
    case ast::BinaryOp::kAdd:
      if (__builtin_add_overflow(x, y, &r)) return Overflow();
      return Value(r);
    case ast::BinaryOp::kSub:
      if (__builtin_sub_overflow(x, y, &r)) return Overflow();
      return Value(r);
    case ast::BinaryOp::kMul:
      if (__builtin_mul_overflow(x, y, &r)) return Overflow();
      return Value(r);
    case ast::BinaryOp::kDiv:
      if (y == 0) return InvalidArgument("division by zero");
      return Value(static_cast<double>(x) / static_cast<double>(y));
    case ast::BinaryOp::kFloorDiv: {
      if (y == 0) return InvalidArgument("integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) return Overflow();
      int64_t q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
      return Value(q);
    }
    case ast::BinaryOp::kMod: {
      if (y == 0) return InvalidArgument("integer division or modulo by zero");
      if (y == -1) return Value(int64_t{0});
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value(m);
    }
    case ast::BinaryOp::kPow: {
      if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
      int64_t result = 1;
      int64_t base = x;
      while (y > 0) {
        if (y & 1) {
          if (__builtin_mul_overflow(result, base, &result)) return Overflow();
        }
        y >>= 1;
        if (y > 0 && __builtin_mul_overflow(base, base, &base)) return Overflow();
      }
      return Value(result);
    }
    default:
      return Internal("not an arithmetic operator");
  }
}

Result<Value> FloatArithmetic(ast::BinaryOp op, double x, double y) {
  switch (op) {
    case ast::BinaryOp::kAdd:
      return Value(x + y);
    case ast::BinaryOp::kSub:
      return Value(x - y);
    case ast::BinaryOp::kMul:
      return Value(x * y);
    case ast::BinaryOp::kDiv:
      if (y == 0) return InvalidArgument("float division by zero");
      return Value(x / y);
    case ast::BinaryOp::kFloorDiv:
      if (y == 0) return InvalidArgument("float floor division by zero");
      return Value(std::floor(x / y));
    case ast::BinaryOp::kMod: {
      if (y == 0) return InvalidArgument("float modulo");
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value(m);
    }
    case ast::BinaryOp::kPow: {
      if (x == 0 && y < 0) return InvalidArgument("0.0 cannot be raised to a negative power");
      double r = std::pow(x, y);
      if (std::isnan(r) && !std::isnan(x) && !std::isnan(y)) {
        return InvalidArgument("negative number cannot be raised to a fractional power");
      }
      if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) {
        return OutOfRange("numerical result out of range");
      }
      return Value(r);
    }
    default:
      return Internal("not an arithmetic operator");
  }
}

// str * n and list * n; the size is charged before anything is built.
Result<Value> Repeat(Interpreter& in, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (n > 0 && s.size() > in.remaining_alloc_bytes() / static_cast<size_t>(n)) {
      return ResourceExhausted("string repetition exceeds the render's memory limit");
    }
    std::string out;
    out.reserve(s.size() * n);
    for (int64_t i = 0; i < n; ++i) out += s;
    return in.MakeString(std::move(out));
  }
  const auto& items = seq.as_list();
  if (n > 0 && items.size() > in.remaining_alloc_bytes() / 16 / static_cast<size_t>(n)) {
    return ResourceExhausted("list repetition exceeds the render's memory limit");
  }
  std::vector<Value> out;
  out.reserve(items.size() * n);
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return in.MakeList(std::move(out), seq.is_tuple());
}

// Python's slice.indices(): clamps start/stop for a sequence of `len` items.
Status SliceBounds(int64_t len, const Value* start_v, const Value* stop_v, const Value* step_v,
                   int64_t& start, int64_t& stop, int64_t& step) {
  auto as_index = [](const Value* v, int64_t& out) -> Result<bool> {
    if (v == nullptr || v->is_none() || v->is_undefined()) return false;
    if (!IsIntLike(*v)) return InvalidArgument("slice indices must be integers or None");
    out = IntOf(*v);
    return true;
  };
  step = 1;
  RETURN_IF_ERROR(as_index(step_v, step).status());
  if (step == 0) return InvalidArgument("slice step cannot be zero");
  if (step == std::numeric_limits<int64_t>::min()) step = -std::numeric_limits<int64_t>::max();
  int64_t lower = step > 0 ? 0 : -1;
  int64_t upper = step > 0 ? len : len - 1;
  auto adjust = [&](int64_t& i) {
    if (i < 0) {
      i = i < -len ? lower : i + len;
      if (i < lower) i = lower;
    } else if (i > upper) {
      i = upper;
    }
  };
  ASSIGN_OR_RETURN(bool has_start, as_index(start_v, start));
  if (has_start) {
    adjust(start);
  } else {
    start = step > 0 ? lower : upper;
  }
  ASSIGN_OR_RETURN(bool has_stop, as_index(stop_v, stop));
  if (has_stop) {
    adjust(stop);
  } else {
    stop = step > 0 ? upper : lower;
  }
  return Status::Ok();
}

std::string ObjectName(const Value& v) { return std::string(v.TypeName()) + " object"; }

}  // namespace

Status UndefinedError(const Value& v) {
  const std::string* hint = v.undefined_hint();
  return InvalidArgument(hint != nullptr ? *hint : "value is undefined");
}

Result<Value> BinaryOperation(Interpreter& in, ast::BinaryOp op, const Value& a, const Value& b) {
  if (op == ast::BinaryOp::kConcat) {
    ASSIGN_OR_RETURN(std::string x, ToStr(a));
    ASSIGN_OR_RETURN(std::string y, ToStr(b));
    RETURN_IF_ERROR(in.ChargeBytes(x.size() + y.size()));
    return Value(x + y);
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) {
    if (IsIntLike(a) && IsIntLike(b)) return IntArithmetic(op, IntOf(a), IntOf(b));
    return FloatArithmetic(op, a.as_number(), b.as_number());
  }
  if (op == ast::BinaryOp::kAdd) {
    if (a.is_string() && b.is_string()) {
      RETURN_IF_ERROR(in.ChargeBytes(a.as_string().size() + b.as_string().size()));
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.as_list();
      items.insert(items.end(), b.as_list().begin(), b.as_list().end());
      return in.MakeList(std::move(items), a.is_tuple());
    }
  }
  if (op == ast::BinaryOp::kMul) {
    if ((a.is_string() || a.is_list()) && IsIntLike(b)) return Repeat(in, a, IntOf(b));
    if ((b.is_string() || b.is_list()) && IsIntLike(a)) return Repeat(in, b, IntOf(a));
  }
  if (op == ast::BinaryOp::kMod && a.is_string()) {
    return Unimplemented("printf-style string formatting ('%' on a string) is not supported");
  }
  return TypeError(OpName(op), a, b);
}

Result<Value> Negate(const Value& v, bool minus) {
  if (v.is_undefined()) return UndefinedError(v);
  if (IsIntLike(v)) {
    int64_t i = IntOf(v);
    if (!minus) return Value(i);
    if (i == std::numeric_limits<int64_t>::min()) return Overflow();
    return Value(-i);
  }
  if (v.is_float()) return Value(minus ? -v.as_float() : v.as_float());
  return InvalidArgument(std::string("bad operand type for unary ") +
                         std::string(minus ? "-" : "+") + ": '" + std::string(v.TypeName()) + "'");
}

Result<bool> Contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!needle.is_string()) {
        return InvalidArgument("'in <string>' requires string as left operand, not " +
                               std::string(needle.TypeName()));
      }
      return haystack.as_string().find(needle.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& item : haystack.as_list()) {
        ASSIGN_OR_RETURN(bool eq, Equals(item, needle));
        if (eq) return true;
      }
      return false;
    case Value::Kind::kDict:
      return needle.is_string() && haystack.as_dict().Find(needle.as_string()) != nullptr;
    default:
      return InvalidArgument(std::string("argument of type '") + std::string(haystack.TypeName()) +
                             "' is not iterable");
  }
}

Result<std::vector<Value>> Iterate(Interpreter& in, const Value& value) {
  std::vector<Value> items;
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return items;
    case Value::Kind::kList:
      return value.as_list();
    case Value::Kind::kDict:
      for (const auto& [key, item] : value.as_dict().entries()) items.emplace_back(key);
      return items;
    case Value::Kind::kString: {
      const std::string& text = value.as_string();
      RETURN_IF_ERROR(in.ChargeBytes(text.size() * 16));
      for (size_t pos = 0; pos < text.size();) {
        size_t start = pos;
        utf8::Next(text, pos);
        items.emplace_back(text.substr(start, pos - start));
      }
      return items;
    }
    default:
      return InvalidArgument(std::string("'") + std::string(value.TypeName()) +
                             "' object is not iterable");
  }
}

Result<Value> GetAttribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (HasMethod(obj, name)) {
    auto fn = std::make_shared<Callable>();
    fn->name = name;
    fn->fn = [obj, name](Interpreter& in, CallArgs& args) {
      return CallMethod(in, obj, name, args);
    };
    return Value(std::shared_ptr<const Callable>(std::move(fn)));
  }
  const Value* found = nullptr;
  if (obj.is_dict()) found = obj.as_dict().Find(name);
  if (obj.is_namespace()) found = obj.as_namespace().dict.Find(name);
  if (found != nullptr) return *found;
  return Value::MakeUndefined(std::string("'") + ObjectName(obj) + "' has no attribute '" + name +
                              "'");
}

Result<Value> GetItem(Interpreter& in, const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if ((obj.is_list() || obj.is_string()) && IsIntLike(key)) {
    int64_t i = IntOf(key);
    if (obj.is_list()) {
      const auto& items = obj.as_list();
      int64_t n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return items[i];
    } else {
      const std::string& s = obj.as_string();
      bool ascii = true;
      for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
      if (ascii) {
        int64_t n = static_cast<int64_t>(s.size());
        if (i < 0) i += n;
        if (i >= 0 && i < n) return in.MakeString(s.substr(i, 1));
      } else {
        std::vector<size_t> offsets = utf8::Offsets(s);
        int64_t n = static_cast<int64_t>(offsets.size()) - 1;
        if (i < 0) i += n;
        if (i >= 0 && i < n)
          return in.MakeString(s.substr(offsets[i], offsets[i + 1] - offsets[i]));
      }
    }
    return Value::MakeUndefined(std::string("'") + ObjectName(obj) + "' has no element " +
                                std::to_string(IntOf(key)));
  }
  if (key.is_string()) {
    if (obj.is_dict()) {
      const Value* found = obj.as_dict().Find(key.as_string());
      if (found != nullptr) return *found;
    }
    return GetAttribute(obj, key.as_string());
  }
  ASSIGN_OR_RETURN(std::string key_repr, ToRepr(key));
  return Value::MakeUndefined(std::string("'") + ObjectName(obj) + "' has no element " + key_repr);
}

Result<Value> GetSlice(Interpreter& in, const Value& obj, const Value* start_v, const Value* stop_v,
                       const Value* step_v) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!obj.is_list() && !obj.is_string()) {
    return InvalidArgument(std::string("'") + std::string(obj.TypeName()) +
                           "' object is not subscriptable");
  }
  std::vector<size_t> offsets;
  int64_t len = 0;
  if (obj.is_list()) {
    len = static_cast<int64_t>(obj.as_list().size());
  } else {
    offsets = utf8::Offsets(obj.as_string());
    len = static_cast<int64_t>(offsets.size()) - 1;
  }
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  RETURN_IF_ERROR(SliceBounds(len, start_v, stop_v, step_v, start, stop, step));
  std::vector<int64_t> picked;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    picked.push_back(i);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  if (obj.is_list()) {
    std::vector<Value> items;
    items.reserve(picked.size());
    for (int64_t i : picked) items.push_back(obj.as_list()[i]);
    return in.MakeList(std::move(items), obj.is_tuple());
  }
  std::string out;
  const std::string& s = obj.as_string();
  for (int64_t i : picked) out.append(s, offsets[i], offsets[i + 1] - offsets[i]);
  return in.MakeString(std::move(out));
}

}  // namespace ts::jinja
