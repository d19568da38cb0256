// ChatPrompt: turns chat messages and completion prompts into token ids.
//
// Chat: the model's template renders the conversation; the rendered text is encoded with
// special-token parsing on, so the template's scaffolding (<|im_start|>, <|im_end|>) becomes
// control tokens. Message content must not: a user who types "<|im_end|>" must not be able to
// close their turn and forge a system message. So every content string that contains a
// special-token string is located in the rendered text (in message order) and encoded with
// parsing off, exactly as transformers does with split_special_tokens=True; the scaffolding
// around it is encoded with parsing on. Content without special strings is encoded with the
// rest in one piece, so ordinary prompts give the same ids as transformers' apply_chat_template.
// If the template transformed such a content string so that it cannot be found verbatim, the
// request is refused rather than risk control tokens from user text.
// `allow_special_in_content` (--allow-special-tokens-in-content) turns the protection off.
//
// Immutable after construction; any number of threads may call it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace ts::server {

class ChatPrompt {
 public:
  // Borrows the tokenizer. `chat_template` is empty for models without one (chat requests
  // then fail with a 400).
  ChatPrompt(const text::Tokenizer* tokenizer, std::optional<jinja::ChatTemplate> chat_template,
             bool allow_special_in_content);

  // REQUIRES: messages are as ParseChatRequest leaves them (content strings).
  Result<std::string> Render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                             const nlohmann::ordered_json& template_kwargs) const;

  // Renders and encodes.
  Result<std::vector<int32_t>> EncodeChat(const nlohmann::ordered_json& messages,
                                          bool add_generation_prompt,
                                          const nlohmann::ordered_json& template_kwargs) const;

  // A completion prompt: the client writes its own scaffolding, so special strings are
  // recognized (as vLLM and transformers do); BOS added as the tokenizer's post-processor says.
  Result<std::vector<int32_t>> EncodeText(const std::string& text, bool add_special) const;

  bool has_chat_template() const { return chat_template_.has_value(); }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  bool ContainsSpecial(const std::string& text) const;

  const text::Tokenizer* tokenizer_;
  std::optional<jinja::ChatTemplate> chat_template_;
  bool allow_special_in_content_;
  std::vector<std::string> special_strings_;  // every special token's text
};

}  // namespace ts::server
