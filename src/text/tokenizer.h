// Tokenizer: text <-> token ids for one model, loaded from a Hugging Face model folder
// (tokenizer.json plus, when present, tokenizer_config.json, special_tokens_map.json and
// chat_template.jinja). Produces the same ids as the Hugging Face tokenizers for byte-level BPE
// (GPT-2, Llama 3, Qwen 2/3, DeepSeek V3) and SentencePiece-style BPE (Llama 2, Mistral, Gemma).
//
// Encode pipeline (one pass per call, see the stage headers for each contract):
//   added tokens (raw text) -> normalizer -> added tokens (normalized text) -> pre-tokenizer
//   -> BPE per piece -> optional post-processor (BOS/EOS)
// Decode: see decoder.h; IncrementalDetokenizer (incremental_detokenizer.h) streams it.
//
// Move-only (it owns large tables). Immutable after Load(); Encode and Decode may be called from
// several threads at once (the BPE word cache is internally synchronized).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ts::text {

struct EncodeOptions {
  // Wrap the ids in the post-processor's special tokens (e.g. BOS for Llama). Off by default:
  // rendered chat templates already contain them.
  bool add_special = false;
  // Recognize special-token strings ("<|im_end|>") in the text. Off: they are encoded as plain
  // text, as transformers does with split_special_tokens=True. Non-special added tokens are
  // always recognized.
  bool parse_special = true;
};

struct DecodeOptions {
  bool skip_special = false;
  // Hugging Face's clean_up_tokenization_spaces; unset: tokenizer_config.json's value (false
  // when absent).
  std::optional<bool> clean_up_spaces;
};

// The files a tokenizer is built from, already read into memory.
struct TokenizerFiles {
  std::string tokenizer_json;           // required
  std::string tokenizer_config_json;    // empty when absent
  std::string special_tokens_map_json;  // empty when absent
  std::string chat_template;            // chat_template.jinja; empty when absent
};

class Decoder;

class Tokenizer {
 public:
  // Upper bounds on what Load reads and Encode accepts.
  static constexpr size_t kMaxTokenizerJsonBytes = size_t{256} << 20;
  static constexpr size_t kMaxConfigBytes = size_t{16} << 20;
  // 64 MiB is about 16M tokens, far past any context window; it bounds the per-call buffers.
  static constexpr size_t kMaxEncodeBytes = size_t{64} << 20;

  static Result<Tokenizer> Load(const std::string& dir);
  static Result<Tokenizer> FromFiles(const TokenizerFiles& files);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Fails on text that is not valid UTF-8 or longer than kMaxEncodeBytes.
  Result<std::vector<int32_t>> Encode(std::string_view text,
                                      const EncodeOptions& options = {}) const;

  // Ids without a token (e.g. the padding rows of an embedding matrix) decode to nothing;
  // negative ids are an error.
  Result<std::string> Decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  // One more than the largest id of the vocabulary or the added tokens.
  int32_t vocab_size() const;
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> pad_id() const;
  // Token strings from tokenizer_config.json / special_tokens_map.json ("" when unset), for chat
  // templates.
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  // The chat template: chat_template.jinja, else tokenizer_config.json's "chat_template" (the
  // "default" entry when it is a list); "" when none.
  const std::string& chat_template() const;

  bool IsSpecial(int32_t id) const;
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token as tokenizer.json writes it (GPT-2 characters for byte-level vocabularies).
  std::optional<std::string_view> IdToToken(int32_t id) const;

  const Decoder& decoder() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ts::text
