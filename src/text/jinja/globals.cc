#include "text/jinja/globals.h"

#include <ctime>

#include "text/jinja/args.h"

namespace ts::jinja {

namespace {

Value MakeBuiltin(std::string name, std::function<Result<Value>(Interpreter&, CallArgs&)> fn) {
  auto callable = std::make_shared<Callable>();
  callable->name = std::move(name);
  callable->fn = std::move(fn);
  return Value(std::shared_ptr<const Callable>(std::move(callable)));
}

Result<Value> Range(Interpreter& in, CallArgs& args) {
  if (!args.keyword.empty()) return InvalidArgument("range() takes no keyword arguments");
  std::vector<int64_t> bounds;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) {
      return InvalidArgument(std::string("'") + std::string(v.TypeName()) +
                             "' object cannot be interpreted as an integer");
    }
    bounds.push_back(v.is_int() ? v.as_int() : static_cast<int64_t>(v.as_bool()));
  }
  if (bounds.empty() || bounds.size() > 3)
    return InvalidArgument("range expected 1 to 3 arguments");
  int64_t start = bounds.size() == 1 ? 0 : bounds[0];
  int64_t stop = bounds.size() == 1 ? bounds[0] : bounds[1];
  int64_t step = bounds.size() == 3 ? bounds[2] : 1;
  if (step == 0) return InvalidArgument("range() arg 3 must not be zero");
  __int128 span =
      step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  __int128 magnitude = step > 0 ? static_cast<__int128>(step) : -static_cast<__int128>(step);
  __int128 count = span <= 0 ? 0 : (span + magnitude - 1) / magnitude;
  // Charged before anything is allocated, so range(10**9) fails at once.
  if (count > static_cast<__int128>(in.remaining_alloc_bytes() / 16)) {
    return ResourceExhausted(std::string("range() of ") +
                             std::to_string(static_cast<int64_t>(count)) +
                             " items exceeds the render's memory limit");
  }
  RETURN_IF_ERROR(in.ChargeBytes(static_cast<size_t>(count) * 16));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) items.emplace_back(start + i * step);
  return Value::MakeList(std::move(items));
}

// namespace(mapping, **kw) and dict(mapping, **kw): entries from an optional dict, then kwargs.
Result<Dict> DictFromArgs(const CallArgs& args, std::string_view function) {
  if (args.positional.size() > 1) {
    return InvalidArgument(std::string(function) + " expected at most 1 positional argument");
  }
  Dict dict;
  if (args.positional.size() == 1) {
    const Value& source = args.positional[0];
    if (!source.is_dict()) {
      return InvalidArgument(std::string(function) + " expects a mapping, got " +
                             std::string(source.TypeName()));
    }
    for (const auto& [key, value] : source.as_dict().entries()) dict.Set(key, value);
  }
  for (const auto& [key, value] : args.keyword) dict.Set(key, value);
  return dict;
}

Result<Value> StrftimeNow(Interpreter& in, CallArgs& args) {
  ArgReader reader(args, "strftime_now");
  const Value* format = reader.Get(0, "format");
  RETURN_IF_ERROR(reader.Done());
  if (format == nullptr || !format->is_string()) {
    return InvalidArgument("strftime_now() needs a format string");
  }
  if (format->as_string().size() > 256) return InvalidArgument("strftime_now() format too long");
  std::time_t t = std::chrono::system_clock::to_time_t(in.now());
  std::tm local{};
  localtime_r(&t, &local);
  char buffer[4096];
  size_t n = std::strftime(buffer, sizeof(buffer), format->as_string().c_str(), &local);
  return in.MakeString(std::string(buffer, n));
}

}  // namespace

void InstallGlobals(Scope& globals) {
  globals.Set("range", MakeBuiltin("range", Range));
  globals.Set("namespace",
              MakeBuiltin("namespace", [](Interpreter& in, CallArgs& args) -> Result<Value> {
                ASSIGN_OR_RETURN(Dict dict, DictFromArgs(args, "namespace"));
                return in.MakeNamespace(std::move(dict));
              }));
  globals.Set("dict", MakeBuiltin("dict", [](Interpreter& in, CallArgs& args) -> Result<Value> {
                ASSIGN_OR_RETURN(Dict dict, DictFromArgs(args, "dict"));
                RETURN_IF_ERROR(in.ChargeBytes(dict.size() * 16));
                return Value::MakeDict(std::move(dict));
              }));
  // transformers raises TemplateError(message): the message is the whole error.
  globals.Set("raise_exception",
              MakeBuiltin("raise_exception", [](Interpreter&, CallArgs& args) -> Result<Value> {
                std::string message = "raise_exception() called";
                if (!args.positional.empty()) {
                  ASSIGN_OR_RETURN(message, ToStr(args.positional[0]));
                }
                return InvalidArgument(message);
              }));
  globals.Set("strftime_now", MakeBuiltin("strftime_now", StrftimeNow));
}

}  // namespace ts::jinja
