#include "server/tool_calls.h"

#include "engine/json_schema_compiler.h"

namespace ts::server {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kMistralMarker = "[TOOL_CALLS]";

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// {"name": string, <args_key>: object or JSON string of one} -> a call.
std::optional<ToolCall> CallFrom(const json& v, const char* args_key) {
  if (!v.is_object() || !v.contains("name") || !v["name"].is_string()) return std::nullopt;
  ToolCall call;
  call.name = v["name"].get<std::string>();
  if (!v.contains(args_key)) {
    call.arguments = "{}";
  } else if (v[args_key].is_object()) {
    call.arguments = v[args_key].dump();
  } else if (v[args_key].is_string()) {
    json parsed = json::parse(v[args_key].get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) return std::nullopt;
    call.arguments = parsed.dump();
  } else {
    return std::nullopt;
  }
  return call;
}

std::optional<json> ParseJson(std::string_view text) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}

// `text` cut at each `separator` that is not inside a JSON string, parts trimmed.
std::vector<std::string_view> SplitOutsideStrings(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool in_string = false, escaped = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == separator) {
      parts.push_back(Trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(Trim(text.substr(start)));
  return parts;
}

// Bytes at the end of `text` that are a proper prefix of `marker`.
size_t PartialMarker(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(marker.size() - 1, text.size()); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

Result<ToolCallFormat> ParseToolCallFormat(std::string_view name) {
  if (name == "hermes") return ToolCallFormat::kHermes;
  if (name == "llama3_json") return ToolCallFormat::kLlama3Json;
  if (name == "mistral") return ToolCallFormat::kMistral;
  return InvalidArgument("--tool-call-parser must be hermes, llama3_json or mistral");
}

std::optional<ToolCallFormat> DetectToolCallFormat(std::string_view chat_template) {
  if (chat_template.find(kHermesOpen) != std::string_view::npos) return ToolCallFormat::kHermes;
  if (chat_template.find(kMistralMarker) != std::string_view::npos) return ToolCallFormat::kMistral;
  if (chat_template.find(kPythonTag) != std::string_view::npos ||
      chat_template.find("\"parameters\"") != std::string_view::npos) {
    return ToolCallFormat::kLlama3Json;
  }
  return std::nullopt;
}

ParsedToolOutput ParseToolCalls(ToolCallFormat format, std::string_view text, bool forced) {
  ParsedToolOutput out;
  out.content = std::string(text);
  std::vector<ToolCall> calls;
  switch (format) {
    case ToolCallFormat::kHermes: {
      const size_t first = text.find(kHermesOpen);
      if (first == std::string_view::npos) return out;
      for (size_t at = first; at != std::string_view::npos; at = text.find(kHermesOpen, at)) {
        at += kHermesOpen.size();
        const size_t end = text.find(kHermesClose, at);
        const std::string_view body =
            text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        std::optional<json> v = ParseJson(Trim(body));
        std::optional<ToolCall> call = v ? CallFrom(*v, "arguments") : std::nullopt;
        if (!call) return out;
        calls.push_back(std::move(*call));
        if (end == std::string_view::npos) break;
        at = end + kHermesClose.size();
      }
      out.content = std::string(Trim(text.substr(0, first)));
      break;
    }
    case ToolCallFormat::kLlama3Json: {
      std::string_view body = TrimLeft(text);
      if (body.substr(0, kPythonTag.size()) == kPythonTag)
        body = TrimLeft(body.substr(kPythonTag.size()));
      if (body.empty() || body.front() != '{') return out;
      // Calls separated by ';' (Llama 3.1 parallel calls), split outside strings.
      std::vector<std::string_view> parts = SplitOutsideStrings(body, ';');
      for (std::string_view p : parts) {
        if (p.empty()) continue;  // a trailing ';'
        std::optional<json> v = ParseJson(p);
        std::optional<ToolCall> call;
        if (v) call = CallFrom(*v, v->contains("parameters") ? "parameters" : "arguments");
        if (!call) return out;
        calls.push_back(std::move(*call));
      }
      out.content.clear();
      break;
    }
    case ToolCallFormat::kMistral: {
      size_t marker = text.find(kMistralMarker);
      std::string_view body;
      if (marker != std::string_view::npos) {
        body = text.substr(marker + kMistralMarker.size());
      } else if (forced) {
        marker = 0;
        body = text;
      } else {
        return out;
      }
      std::optional<json> v = ParseJson(Trim(body));
      if (!v) return out;
      const json list = v->is_array() ? *v : json::array({*v});
      for (const json& item : list) {
        std::optional<ToolCall> call = CallFrom(item, "arguments");
        if (!call) return out;
        calls.push_back(std::move(*call));
      }
      out.content = std::string(Trim(text.substr(0, marker)));
      break;
    }
  }
  out.calls = std::move(calls);
  return out;
}

size_t ContentPrefixLength(ToolCallFormat format, std::string_view text, bool forced) {
  if (forced) return 0;
  switch (format) {
    case ToolCallFormat::kHermes:
    case ToolCallFormat::kMistral: {
      const std::string_view marker =
          format == ToolCallFormat::kHermes ? kHermesOpen : kMistralMarker;
      const size_t at = text.find(marker);
      if (at != std::string_view::npos) return at;
      return text.size() - PartialMarker(text, marker);
    }
    case ToolCallFormat::kLlama3Json: {
      // A call is the whole answer: hold everything while it may still be one.
      const std::string_view body = TrimLeft(text);
      if (body.empty() || body.front() == '{' || body.front() == '<') return 0;
      return text.size();
    }
  }
  return text.size();
}

Result<std::shared_ptr<const Grammar>> ToolCallGrammar(ToolCallFormat format, const json& tools,
                                                       const std::optional<std::string>& only,
                                                       bool parallel) {
  GrammarBuilder b;
  std::vector<int32_t> calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& f = tools[i]["function"];
    const std::string name = f["name"].get<std::string>();
    if (only && *only != name) continue;
    const json parameters = f.contains("parameters")
                                ? f["parameters"]
                                : json{{"type", "object"}, {"properties", json::object()}};
    Result<int32_t> args = b.AddSchema(parameters);
    if (!args.ok()) {
      return InvalidArgument("tools[" + std::to_string(i) +
                             "].function.parameters: " + std::string(args.status().message()));
    }
    const int32_t name_node = b.AddText(json(name).dump());
    const char* args_key = format == ToolCallFormat::kLlama3Json ? "parameters" : "arguments";
    calls.push_back(b.AddObject({{"name", name_node}, {args_key, *args}}));
  }
  const int32_t call = b.AddAnyOf(std::move(calls));
  // Several calls are written the way the family's chat template renders them.
  auto repeat = [&](int32_t item, const char* separator) {
    return parallel ? b.AddOneOrMore(item, separator) : item;
  };
  int32_t root = call;
  switch (format) {
    case ToolCallFormat::kHermes:
      root = repeat(b.AddSequence({b.AddText(std::string(kHermesOpen) + "\n"), call,
                                   b.AddText("\n" + std::string(kHermesClose))}),
                    "\n");
      break;
    case ToolCallFormat::kLlama3Json:
      root = repeat(call, "; ");
      break;
    case ToolCallFormat::kMistral:
      // The [TOOL_CALLS] marker is a special token constrained output cannot contain; the
      // parser reads forced output as the list itself.
      root = b.AddSequence({b.AddText("["), repeat(call, ", "), b.AddText("]")});
      break;
  }
  return b.Build(root);
}

}  // namespace ts::server
