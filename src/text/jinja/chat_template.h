// ChatTemplate: finds a model's chat template and renders conversations with it, as
// transformers' apply_chat_template does.
//
// Where the template comes from, first match wins:
//  1. chat_template.jinja in the model folder (what recent transformers versions save);
//  2. tokenizer_config.json "chat_template": a string, or a list of {"name", "template"}
//     entries, of which "default" is used and "tool_use" is kept for requests with tools.
// bos_token and eos_token come from tokenizer_config.json (a string or an AddedToken object
// {"content": ...}); they are passed to the template unless the request sets them.
//
// Immutable after loading; Render may be called from many threads at once.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "text/jinja/render_limits.h"
#include "text/jinja/template.h"

namespace ts::jinja {

class ChatTemplate {
 public:
  // Reads model_dir/chat_template.jinja and model_dir/tokenizer_config.json (either may be
  // missing, not both). kNotFound when the folder has no chat template at all.
  static Result<ChatTemplate> Load(const std::string& model_dir);

  // From file contents: tokenizer_config is the parsed tokenizer_config.json (null when the
  // file is absent); jinja_source is chat_template.jinja or a --chat-template override.
  static Result<ChatTemplate> FromConfig(const nlohmann::ordered_json& tokenizer_config,
                                         std::optional<std::string_view> jinja_source);

  // REQUIRES: inputs is a JSON object: messages, tools, add_generation_prompt and any extra
  // template kwargs (enable_thinking, ...). Uses the tool_use template when inputs carries a
  // non-null "tools" and the model has one; adds bos_token/eos_token when not given.
  Result<std::string> Render(const nlohmann::ordered_json& inputs,
                             const RenderLimits& limits = {}) const;

  const Template& default_template() const { return default_; }
  // nullptr when tokenizer_config.json names no "tool_use" template.
  const Template* tool_use_template() const { return tool_use_ ? &*tool_use_ : nullptr; }
  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

 private:
  explicit ChatTemplate(Template default_template) : default_(std::move(default_template)) {}

  Template default_;
  std::optional<Template> tool_use_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

}  // namespace ts::jinja
