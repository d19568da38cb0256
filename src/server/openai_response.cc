#include "server/openai_response.h"

#include <cmath>

namespace ts::server {

using nlohmann::ordered_json;

ordered_json ResponseJson(const ResponseHeader& header, ordered_json choices) {
  return {{"id", header.id},
          {"object", header.object},
          {"created", header.created},
          {"model", header.model},
          {"choices", std::move(choices)}};
}

ordered_json UsageJson(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details",
           {{"cached_tokens", usage.cached_tokens},
            {"cached_tokens_ram", usage.cached_tokens_ram},
            {"cached_tokens_ssd", usage.cached_tokens_ssd}}}};
}

const char* FinishReasonText(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kNone:
    case FinishReason::kCancelled:
    case FinishReason::kError:
      break;
  }
  return "abort";
}

std::string TokenText(const text::Tokenizer& tokenizer, int32_t token) {
  Result<std::string> text =
      tokenizer.Decode(std::span(&token, 1), {.skip_special = false, .clean_up_spaces = false});
  return text.ok() ? *text : std::string();
}

namespace {

ordered_json Bytes(const std::string& text) {
  ordered_json bytes = ordered_json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

ordered_json ChatTokenJson(const text::Tokenizer& tokenizer, int32_t token, float logprob) {
  std::string text = TokenText(tokenizer, token);
  ordered_json bytes = Bytes(text);
  return {{"token", std::move(text)}, {"logprob", logprob}, {"bytes", std::move(bytes)}};
}

}  // namespace

ordered_json ChatLogprobsJson(const std::vector<TokenLogprob>& logprobs,
                              const text::Tokenizer& tokenizer) {
  ordered_json content = ordered_json::array();
  for (const TokenLogprob& lp : logprobs) {
    ordered_json entry = ChatTokenJson(tokenizer, lp.token, lp.logprob);
    ordered_json top = ordered_json::array();
    for (const auto& [token, logprob] : lp.top)
      top.push_back(ChatTokenJson(tokenizer, token, logprob));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return {{"content", std::move(content)}};
}

ordered_json CompletionLogprobsJson(const std::vector<TokenLogprob>& logprobs,
                                    const text::Tokenizer& tokenizer, size_t text_offset) {
  ordered_json tokens = ordered_json::array();
  ordered_json token_logprobs = ordered_json::array();
  ordered_json top_logprobs = ordered_json::array();
  ordered_json offsets = ordered_json::array();
  for (const TokenLogprob& lp : logprobs) {
    std::string text = TokenText(tokenizer, lp.token);
    offsets.push_back(text_offset);
    text_offset += text.size();
    tokens.push_back(std::move(text));
    if (std::isnan(lp.logprob)) {
      token_logprobs.push_back(nullptr);
      top_logprobs.push_back(nullptr);
      continue;
    }
    token_logprobs.push_back(lp.logprob);
    ordered_json top = ordered_json::object();
    for (const auto& [token, logprob] : lp.top) top[TokenText(tokenizer, token)] = logprob;
    top_logprobs.push_back(std::move(top));
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_logprobs)},
          {"top_logprobs", std::move(top_logprobs)},
          {"text_offset", std::move(offsets)}};
}

void AppendCompletionLogprobs(ordered_json* into, const ordered_json& more) {
  if (into->is_null()) {
    *into = more;
    return;
  }
  for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    ordered_json& list = (*into)[key];
    for (const auto& item : more[key]) list.push_back(item);
  }
}

std::string DumpJson(const ordered_json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string SseData(const ordered_json& value) {
  std::string out = "data: ";
  out += DumpJson(value);
  out += "\n\n";
  return out;
}

}  // namespace ts::server
