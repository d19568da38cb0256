#include "text/jinja/chat_template.h"

#include <filesystem>

#include "base/mapped_file.h"

namespace ts::jinja {

namespace {

// A special token in tokenizer_config.json: "text", {"content": "text", ...} or null.
std::optional<std::string> TokenText(const nlohmann::ordered_json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const auto& token = config[key];
  if (token.is_string()) return token.get<std::string>();
  if (token.is_object() && token.contains("content") && token["content"].is_string()) {
    return token["content"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

Result<ChatTemplate> ChatTemplate::FromConfig(const nlohmann::ordered_json& tokenizer_config,
                                              std::optional<std::string_view> jinja_source) {
  std::optional<std::string> default_source;
  std::optional<std::string> tool_use_source;
  if (jinja_source.has_value()) default_source = std::string(*jinja_source);
  const nlohmann::ordered_json* configured = nullptr;
  if (tokenizer_config.is_object() && tokenizer_config.contains("chat_template")) {
    configured = &tokenizer_config["chat_template"];
  }
  if (configured != nullptr && configured->is_string() && !default_source) {
    default_source = configured->get<std::string>();
  } else if (configured != nullptr && configured->is_array()) {
    for (const auto& entry : *configured) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string()) {
        return InvalidArgument(
            "tokenizer_config.json chat_template entries need name and template");
      }
      const std::string name = entry["name"].get<std::string>();
      if (name == "default" && !default_source)
        default_source = entry["template"].get<std::string>();
      if (name == "tool_use") tool_use_source = entry["template"].get<std::string>();
    }
  }
  if (!default_source) {
    if (!tool_use_source) return NotFound("the model has no chat template");
    default_source = tool_use_source;
  }
  ASSIGN_OR_RETURN(Template default_template, Template::Parse(*default_source));
  ChatTemplate chat(std::move(default_template));
  if (tool_use_source) {
    auto tool_use = Template::Parse(*tool_use_source);
    if (!tool_use.ok()) return tool_use.status().WithContext("tool_use template: ");
    chat.tool_use_ = std::move(tool_use).value();
  }
  chat.bos_token_ = TokenText(tokenizer_config, "bos_token");
  chat.eos_token_ = TokenText(tokenizer_config, "eos_token");
  return chat;
}

Result<ChatTemplate> ChatTemplate::Load(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  nlohmann::ordered_json config;
  auto config_text = ReadFileToString((dir / "tokenizer_config.json").string());
  if (config_text.ok()) {
    config = nlohmann::ordered_json::parse(*config_text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) return InvalidArgument("tokenizer_config.json is not valid JSON");
  } else if (config_text.status().code() != StatusCode::kNotFound) {
    return config_text.status();
  }
  std::optional<std::string> jinja;
  auto jinja_text = ReadFileToString((dir / "chat_template.jinja").string());
  if (jinja_text.ok()) {
    jinja = std::move(jinja_text).value();
  } else if (jinja_text.status().code() != StatusCode::kNotFound) {
    return jinja_text.status();
  }
  auto chat = FromConfig(config, jinja);
  if (!chat.ok()) return chat.status().WithContext(model_dir + ": ");
  return chat;
}

Result<std::string> ChatTemplate::Render(const nlohmann::ordered_json& inputs,
                                         const RenderLimits& limits) const {
  if (!inputs.is_object()) return InvalidArgument("chat template inputs must be a JSON object");
  nlohmann::ordered_json context = inputs;
  if (bos_token_ && !context.contains("bos_token")) context["bos_token"] = *bos_token_;
  if (eos_token_ && !context.contains("eos_token")) context["eos_token"] = *eos_token_;
  bool has_tools = context.contains("tools") && !context["tools"].is_null();
  const Template& chosen = has_tools && tool_use_ ? *tool_use_ : default_;
  return chosen.Render(context, limits);
}

}  // namespace ts::jinja
