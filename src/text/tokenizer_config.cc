#include "text/tokenizer_config.h"

#include <nlohmann/json.hpp>

namespace ts::text {
namespace {

using json = nlohmann::json;

// A special token is written either as a string or as an AddedToken object.
std::string TokenString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value.at("content").is_string()) {
    return value.at("content").get<std::string>();
  }
  return "";
}

void ReadSpecialTokens(const json& source, TokenizerConfig* config) {
  const std::pair<const char*, std::string*> fields[] = {
      {"bos_token", &config->bos_token},
      {"eos_token", &config->eos_token},
      {"pad_token", &config->pad_token},
      {"unk_token", &config->unk_token},
  };
  for (const auto& [key, field] : fields) {
    if (field->empty() && source.contains(key)) *field = TokenString(source.at(key));
  }
  if (config->additional_special_tokens.empty() && source.contains("additional_special_tokens") &&
      source.at("additional_special_tokens").is_array()) {
    for (const json& token : source.at("additional_special_tokens")) {
      const std::string s = TokenString(token);
      if (!s.empty()) config->additional_special_tokens.push_back(s);
    }
  }
}

std::string ChatTemplate(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    for (const json& entry : value) {
      if (entry.value("name", "") == "default") return entry.value("template", "");
    }
  }
  return "";
}

}  // namespace

bool TokenizerConfig::OverridesPostProcessor() const {
  return tokenizer_class == "LlamaTokenizer" || tokenizer_class == "CodeLlamaTokenizer" ||
         tokenizer_class == "GemmaTokenizer";
}

Result<TokenizerConfig> ParseTokenizerConfig(std::string_view tokenizer_config_json,
                                             std::string_view special_tokens_map_json) {
  TokenizerConfig config;
  try {
    if (!tokenizer_config_json.empty()) {
      const json root = json::parse(tokenizer_config_json);
      if (!root.is_object()) return InvalidArgument("tokenizer_config.json is not an object");
      ReadSpecialTokens(root, &config);
      if (root.contains("add_bos_token") && root.at("add_bos_token").is_boolean()) {
        config.add_bos_token = root.at("add_bos_token").get<bool>();
      }
      if (root.contains("add_eos_token") && root.at("add_eos_token").is_boolean()) {
        config.add_eos_token = root.at("add_eos_token").get<bool>();
      }
      if (root.contains("tokenizer_class") && root.at("tokenizer_class").is_string()) {
        config.tokenizer_class = root.at("tokenizer_class").get<std::string>();
        if (config.tokenizer_class.ends_with("Fast")) {
          config.tokenizer_class.resize(config.tokenizer_class.size() - 4);
        }
      }
      if (root.contains("clean_up_tokenization_spaces") &&
          root.at("clean_up_tokenization_spaces").is_boolean()) {
        config.clean_up_tokenization_spaces = root.at("clean_up_tokenization_spaces").get<bool>();
      }
      if (root.contains("chat_template"))
        config.chat_template = ChatTemplate(root.at("chat_template"));
    }
    if (!special_tokens_map_json.empty()) {
      const json root = json::parse(special_tokens_map_json);
      if (!root.is_object()) return InvalidArgument("special_tokens_map.json is not an object");
      ReadSpecialTokens(root, &config);
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("tokenizer config: ") + e.what());
  }
  return config;
}

}  // namespace ts::text
