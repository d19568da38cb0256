#include "text/tokenizer.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "base/mapped_file.h"
#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/decoder.h"
#include "text/normalizer.h"
#include "text/post_processor.h"
#include "text/pre_tokenizer.h"
#include "text/tokenizer_config.h"
#include "text/utf8.h"

namespace ts::text {

struct Tokenizer::Impl {
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  AddedVocabulary added;
  PostProcessor post_processor;
  Decoder decoder;
  TokenizerConfig config;
  std::vector<std::string> id_to_token;  // model vocabulary; "" where an id has no entry
  bool has_normalized_added_tokens = false;
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
  std::optional<int32_t> pad_id;

  // Encodes one stretch of plain text (no added tokens of the raw pass inside).
  Status EncodePlain(std::string_view text, bool is_first_section, bool parse_special,
                     std::vector<int32_t>* ids) const;
  Status EncodeNormalized(std::string_view text, bool is_first_section,
                          std::vector<int32_t>* ids) const;
};

namespace {

using json = nlohmann::json;

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> ReadOptional(const std::string& path, size_t max_bytes) {
  if (!FileExists(path)) return std::string();
  Result<std::string> text = ReadFileToString(path, max_bytes);
  if (!text.ok()) return text.status().WithContext(path);
  return text;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::Load(const std::string& dir) {
  TokenizerFiles files;
  const std::string json_path = dir + "/tokenizer.json";
  if (!FileExists(json_path)) return NotFound(json_path + " does not exist");
  ASSIGN_OR_RETURN(files.tokenizer_json, ReadOptional(json_path, kMaxTokenizerJsonBytes));
  ASSIGN_OR_RETURN(files.tokenizer_config_json,
                   ReadOptional(dir + "/tokenizer_config.json", kMaxConfigBytes));
  ASSIGN_OR_RETURN(files.special_tokens_map_json,
                   ReadOptional(dir + "/special_tokens_map.json", kMaxConfigBytes));
  ASSIGN_OR_RETURN(files.chat_template,
                   ReadOptional(dir + "/chat_template.jinja", kMaxConfigBytes));
  Result<Tokenizer> tokenizer = FromFiles(files);
  if (!tokenizer.ok()) return tokenizer.status().WithContext(dir);
  return tokenizer;
}

Result<Tokenizer> Tokenizer::FromFiles(const TokenizerFiles& files) {
  ASSIGN_OR_RETURN(TokenizerConfig config, ParseTokenizerConfig(files.tokenizer_config_json,
                                                                files.special_tokens_map_json));
  if (!files.chat_template.empty()) config.chat_template = files.chat_template;
  json root;
  try {
    root = json::parse(files.tokenizer_json);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("tokenizer.json: ") + e.what());
  }
  if (!root.is_object() || !root.contains("model")) {
    return InvalidArgument("tokenizer.json has no model");
  }
  static const json kNull;
  const auto section = [&root](const char* key) -> const json& {
    return root.contains(key) ? root.at(key) : kNull;
  };
  ASSIGN_OR_RETURN(Normalizer normalizer, Normalizer::Create(section("normalizer")));
  ASSIGN_OR_RETURN(PreTokenizer pre_tokenizer, PreTokenizer::Create(section("pre_tokenizer")));
  ASSIGN_OR_RETURN(BpeModel model,
                   BpeModel::Create(root.at("model"), pre_tokenizer.is_byte_level()));
  ASSIGN_OR_RETURN(AddedVocabulary added, AddedVocabulary::Create(section("added_tokens")));
  ASSIGN_OR_RETURN(PostProcessor post_processor, PostProcessor::Create(section("post_processor")));

  int32_t max_id = -1;
  bool has_normalized_added_tokens = false;
  for (const auto& [token, id] : model.vocab()) max_id = std::max(max_id, id);
  for (const AddedToken& token : added.tokens()) {
    max_id = std::max(max_id, token.id);
    has_normalized_added_tokens |= token.normalized;
  }
  std::vector<std::string> id_to_token(static_cast<size_t>(max_id + 1));
  for (const auto& [token, id] : model.vocab()) id_to_token[id] = token;

  const auto id_of = [&](const std::string& token) -> std::optional<int32_t> {
    if (token.empty()) return std::nullopt;
    if (std::optional<int32_t> id = added.FindByContent(token)) return id;
    auto it = model.vocab().find(token);
    if (it == model.vocab().end()) return std::nullopt;
    return it->second;
  };
  const std::optional<int32_t> bos_id = id_of(config.bos_token);
  const std::optional<int32_t> eos_id = id_of(config.eos_token);
  if (config.OverridesPostProcessor() &&
      (config.add_bos_token.has_value() || config.add_eos_token.has_value())) {
    const bool add_bos = config.add_bos_token.value_or(true);
    const bool add_eos = config.add_eos_token.value_or(false);
    if ((add_bos && !bos_id) || (add_eos && !eos_id)) {
      return InvalidArgument("add_bos_token/add_eos_token set but the token is unknown");
    }
    post_processor =
        PostProcessor::FromBosEos(add_bos ? bos_id : std::nullopt, add_eos ? eos_id : std::nullopt);
  }

  std::unordered_set<int32_t> special_ids;
  for (const AddedToken& token : added.tokens()) {
    if (token.special) special_ids.insert(token.id);
  }
  for (const std::string& token : config.additional_special_tokens) {
    if (std::optional<int32_t> id = id_of(token)) special_ids.insert(*id);
  }
  ASSIGN_OR_RETURN(Decoder decoder,
                   Decoder::Create(section("decoder"), id_to_token, added, std::move(special_ids)));
  const std::optional<int32_t> pad_id = id_of(config.pad_token);
  return Tokenizer(std::make_unique<Impl>(Impl{
      .normalizer = std::move(normalizer),
      .pre_tokenizer = std::move(pre_tokenizer),
      .model = std::move(model),
      .added = std::move(added),
      .post_processor = std::move(post_processor),
      .decoder = std::move(decoder),
      .config = std::move(config),
      .id_to_token = std::move(id_to_token),
      .has_normalized_added_tokens = has_normalized_added_tokens,
      .bos_id = bos_id,
      .eos_id = eos_id,
      .pad_id = pad_id,
  }));
}

Status Tokenizer::Impl::EncodeNormalized(std::string_view text, bool is_first_section,
                                         std::vector<int32_t>* ids) const {
  std::string storage;
  std::vector<MatchSpan> pieces;
  RETURN_IF_ERROR(pre_tokenizer.Split(text, is_first_section, &storage, &pieces));
  for (const MatchSpan& piece : pieces) {
    RETURN_IF_ERROR(
        model.Encode(std::string_view(storage).substr(piece.begin, piece.end - piece.begin), ids));
  }
  return Status::Ok();
}

Status Tokenizer::Impl::EncodePlain(std::string_view text, bool is_first_section,
                                    bool parse_special, std::vector<int32_t>* ids) const {
  if (text.empty()) return Status::Ok();
  std::string normalized_storage;
  std::string_view normalized = text;
  if (!normalizer.is_identity()) {
    ASSIGN_OR_RETURN(normalized_storage, normalizer.Normalize(text));
    normalized = normalized_storage;
  }
  if (normalized.empty()) return Status::Ok();
  if (!has_normalized_added_tokens) return EncodeNormalized(normalized, is_first_section, ids);
  std::vector<TextSection> sections;
  added.Split(normalized, /*normalized_tokens=*/true, parse_special, &sections);
  for (const TextSection& s : sections) {
    if (s.token_id >= 0) {
      ids->push_back(s.token_id);
    } else if (s.end > s.begin) {
      RETURN_IF_ERROR(EncodeNormalized(normalized.substr(s.begin, s.end - s.begin),
                                       is_first_section && s.begin == 0, ids));
    }
  }
  return Status::Ok();
}

Result<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                               const EncodeOptions& options) const {
  if (text.size() > kMaxEncodeBytes) return OutOfRange("text too long to tokenize");
  if (!IsValidUtf8(text)) return InvalidArgument("text is not valid UTF-8");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<TextSection> sections;
  impl_->added.Split(text, /*normalized_tokens=*/false, options.parse_special, &sections);
  for (const TextSection& s : sections) {
    if (s.token_id >= 0) {
      ids.push_back(s.token_id);
      continue;
    }
    RETURN_IF_ERROR(impl_->EncodePlain(text.substr(s.begin, s.end - s.begin),
                                       /*is_first_section=*/s.begin == 0, options.parse_special,
                                       &ids));
  }
  if (options.add_special) return impl_->post_processor.Apply(std::move(ids));
  return ids;
}

Result<std::string> Tokenizer::Decode(std::span<const int32_t> ids,
                                      const DecodeOptions& options) const {
  for (const int32_t id : ids) {
    if (id < 0) return InvalidArgument("negative token id " + std::to_string(id));
  }
  std::string text = impl_->decoder.Decode(ids, options.skip_special);
  if (options.clean_up_spaces.value_or(impl_->config.clean_up_tokenization_spaces)) {
    text = CleanUpTokenizationSpaces(std::move(text));
  }
  return text;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->id_to_token.size()); }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos_id; }
std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad_id; }
const std::string& Tokenizer::bos_token() const { return impl_->config.bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->config.eos_token; }
const std::string& Tokenizer::chat_template() const { return impl_->config.chat_template; }
bool Tokenizer::IsSpecial(int32_t id) const { return impl_->decoder.IsSpecial(id); }
const Decoder& Tokenizer::decoder() const { return impl_->decoder; }

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (std::optional<int32_t> id = impl_->added.FindByContent(token)) return id;
  auto it = impl_->model.vocab().find(std::string(token));
  if (it == impl_->model.vocab().end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* token = impl_->added.FindById(id)) return token->content;
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size() ||
      impl_->id_to_token[id].empty()) {
    return std::nullopt;
  }
  return impl_->id_to_token[id];
}

}  // namespace ts::text
