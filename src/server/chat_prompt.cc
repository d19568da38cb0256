#include "server/chat_prompt.h"

#include <string_view>

#include "server/api_error.h"

namespace ts::server {

ChatPrompt::ChatPrompt(const text::Tokenizer* tokenizer,
                       std::optional<jinja::ChatTemplate> chat_template,
                       bool allow_special_in_content)
    : tokenizer_(tokenizer),
      chat_template_(std::move(chat_template)),
      allow_special_in_content_(allow_special_in_content) {
  for (int32_t id = 0; id < tokenizer_->vocab_size(); ++id) {
    if (!tokenizer_->IsSpecial(id)) continue;
    std::optional<std::string_view> token = tokenizer_->IdToToken(id);
    if (token && !token->empty()) special_strings_.emplace_back(*token);
  }
}

bool ChatPrompt::ContainsSpecial(const std::string& text) const {
  for (const std::string& s : special_strings_) {
    if (text.find(s) != std::string::npos) return true;
  }
  return false;
}

Result<std::string> ChatPrompt::Render(const nlohmann::ordered_json& messages,
                                       bool add_generation_prompt,
                                       const nlohmann::ordered_json& template_kwargs) const {
  if (!chat_template_) {
    return InvalidField("messages",
                        "cannot be used: the model has no chat template (use "
                        "/v1/completions or --chat-template)");
  }
  nlohmann::ordered_json inputs = template_kwargs;
  inputs["messages"] = messages;
  inputs["add_generation_prompt"] = add_generation_prompt;
  Result<std::string> text = chat_template_->Render(inputs);
  if (!text.ok()) {
    // A template error is about this conversation (raise_exception on a bad role order, a
    // limit hit by a huge input), not a server fault.
    return InvalidField("messages", "could not be rendered: " + text.status().message());
  }
  return text;
}

Result<std::vector<int32_t>> ChatPrompt::EncodeChat(
    const nlohmann::ordered_json& messages, bool add_generation_prompt,
    const nlohmann::ordered_json& template_kwargs) const {
  ASSIGN_OR_RETURN(std::string rendered, Render(messages, add_generation_prompt, template_kwargs));
  // Spans of the rendered text to encode without special-token parsing, in order.
  std::vector<std::pair<size_t, size_t>> plain_spans;
  if (!allow_special_in_content_) {
    size_t search_from = 0;
    for (const auto& message : messages) {
      for (const char* key : {"content", "reasoning_content"}) {
        auto it = message.find(key);
        if (it == message.end()) continue;
        const std::string& content = it->get_ref<const std::string&>();
        if (!ContainsSpecial(content)) continue;
        const size_t at = rendered.find(content, search_from);
        if (at == std::string::npos) {
          return InvalidField("messages",
                              "contain special-token text that the chat template "
                              "altered; it cannot be encoded safely");
        }
        plain_spans.emplace_back(at, at + content.size());
        search_from = at + content.size();
      }
    }
  }
  std::vector<int32_t> ids;
  size_t pos = 0;
  auto append = [&](size_t begin, size_t end, bool parse_special) -> Status {
    if (begin == end) return Status::Ok();
    ASSIGN_OR_RETURN(std::vector<int32_t> piece,
                     tokenizer_->Encode(std::string_view(rendered).substr(begin, end - begin),
                                        {.add_special = false, .parse_special = parse_special}));
    ids.insert(ids.end(), piece.begin(), piece.end());
    return Status::Ok();
  };
  for (const auto& [begin, end] : plain_spans) {
    RETURN_IF_ERROR(append(pos, begin, /*parse_special=*/true));
    RETURN_IF_ERROR(append(begin, end, /*parse_special=*/false));
    pos = end;
  }
  RETURN_IF_ERROR(append(pos, rendered.size(), /*parse_special=*/true));
  return ids;
}

Result<std::vector<int32_t>> ChatPrompt::EncodeText(const std::string& text,
                                                    bool add_special) const {
  Result<std::vector<int32_t>> ids =
      tokenizer_->Encode(text, {.add_special = add_special, .parse_special = true});
  if (!ids.ok()) return InvalidField("prompt", ids.status().message());
  return ids;
}

}  // namespace ts::server
