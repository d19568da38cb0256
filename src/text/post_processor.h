// PostProcessor: what "add special tokens" means for one sequence: the ids placed before and
// after the encoded text. Built from tokenizer.json's "post_processor" (TemplateProcessing,
// BertProcessing/RobertaProcessing, ByteLevel (no ids), Sequence of those) or, for tokenizer
// classes whose transformers implementation rebuilds the template from tokenizer_config.json's
// add_bos_token/add_eos_token (Llama, CodeLlama, Gemma), from those flags.
//
// Immutable value type.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

#include "base/status.h"

namespace ts::text {

class PostProcessor {
 public:
  // config is the value of "post_processor" (null: no special tokens are added).
  static Result<PostProcessor> Create(const nlohmann::json& config);
  static PostProcessor FromBosEos(std::optional<int32_t> bos_id, std::optional<int32_t> eos_id);

  // Returns prefix + ids + suffix.
  std::vector<int32_t> Apply(std::vector<int32_t> ids) const;

  const std::vector<int32_t>& prefix() const { return prefix_; }
  const std::vector<int32_t>& suffix() const { return suffix_; }

 private:
  std::vector<int32_t> prefix_;
  std::vector<int32_t> suffix_;
};

}  // namespace ts::text
