#include "text/decoder.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "text/added_tokens.h"
#include "text/byte_level.h"
#include "text/utf8.h"

namespace ts::text {
namespace {

using json = nlohmann::json;

// The decoder chain reduced to per-token rewriting plus a leading strip (see decoder.h).
struct Chain {
  bool byte_level = false;
  std::vector<std::pair<std::string, std::string>> replacements;  // applied in order
  bool byte_fallback = false;
  bool fused = false;
  size_t strip_leading = 0;
};

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, pos)) {
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos);
  return out;
}

Status AddToChain(const json& config, Chain* chain, bool top_level) {
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence" && top_level) {
    for (const json& child : config.at("decoders")) {
      RETURN_IF_ERROR(AddToChain(child, chain, /*top_level=*/false));
    }
  } else if (type == "ByteLevel" && top_level) {
    chain->byte_level = true;
  } else if (type == "Metaspace" && top_level) {
    const std::string scheme = config.value("prepend_scheme", "always");
    chain->replacements.emplace_back(config.at("replacement").get<std::string>(), " ");
    const bool prefix = config.contains("add_prefix_space")
                            ? config.at("add_prefix_space").get<bool>()
                            : scheme != "never";
    chain->strip_leading = prefix ? 1 : 0;
  } else if (type == "Replace") {
    if (chain->byte_fallback || chain->fused || !config.at("pattern").contains("String")) {
      return Unimplemented("this Replace decoder (regex, or after ByteFallback/Fuse)");
    }
    chain->replacements.emplace_back(config.at("pattern").at("String").get<std::string>(),
                                     config.at("content").get<std::string>());
  } else if (type == "ByteFallback") {
    if (chain->fused) return Unimplemented("ByteFallback after Fuse");
    chain->byte_fallback = true;
  } else if (type == "Fuse") {
    chain->fused = true;
  } else if (type == "Strip") {
    const std::string content = config.at("content").get<std::string>();
    if (!chain->fused || content != " " || config.value("stop", 0) != 0) {
      return Unimplemented("this Strip decoder (before Fuse, not a space, or trailing)");
    }
    chain->strip_leading = config.at("start").get<size_t>();
  } else {
    return Unimplemented("decoder type " + type);
  }
  return Status::Ok();
}

// <0xNN> -> the byte NN.
std::optional<char> ByteFallbackByte(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return std::nullopt;
  int value = 0;
  for (const char c : token.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return std::nullopt;
    }
  }
  return static_cast<char>(value);
}

std::string ChainBytes(const Chain& chain, const std::string& token, bool is_added) {
  if (chain.byte_level) {
    // Added tokens are written as plain text, not in GPT-2 characters; so is any vocabulary
    // entry outside the GPT-2 table.
    if (is_added) return token;
    std::optional<std::string> bytes = ByteLevelToBytes(token);
    return bytes ? std::move(*bytes) : token;
  }
  if (chain.byte_fallback) {
    if (std::optional<char> b = ByteFallbackByte(token)) return std::string(1, *b);
  }
  std::string out = token;
  for (const auto& [from, to] : chain.replacements) out = ReplaceAll(std::move(out), from, to);
  return out;
}

}  // namespace

Result<Decoder> Decoder::Create(const nlohmann::json& config,
                                const std::vector<std::string>& id_to_token,
                                const AddedVocabulary& added,
                                std::unordered_set<int32_t> special_ids) {
  Chain chain;
  Decoder decoder;
  try {
    if (config.is_null()) {
      decoder.join_with_space_ = true;
    } else {
      RETURN_IF_ERROR(AddToChain(config, &chain, /*top_level=*/true));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("decoder: ") + e.what());
  }
  decoder.token_bytes_.resize(id_to_token.size());
  for (size_t id = 0; id < id_to_token.size(); ++id) {
    const AddedToken* token = added.FindById(static_cast<int32_t>(id));
    decoder.token_bytes_[id] = ChainBytes(chain, token ? token->content : id_to_token[id],
                                          /*is_added=*/token != nullptr);
  }
  decoder.special_ids_ = std::move(special_ids);
  decoder.strip_leading_ = chain.strip_leading;
  return decoder;
}

std::string Decoder::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  bool first = true;
  for (const int32_t id : ids) {
    if (skip_special && IsSpecial(id)) continue;
    if (!HasToken(id)) continue;
    if (join_with_space_ && !first) bytes.push_back(' ');
    bytes.append(token_bytes_[id]);
    first = false;
  }
  size_t begin = 0;
  while (begin < strip_leading_ && begin < bytes.size() && bytes[begin] == ' ') ++begin;
  std::string out;
  out.reserve(bytes.size() - begin);
  AppendLossyUtf8(std::string_view(bytes).substr(begin), &out);
  return out;
}

std::string CleanUpTokenizationSpaces(std::string text) {
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) text = ReplaceAll(std::move(text), from, to);
  return text;
}

}  // namespace ts::text
