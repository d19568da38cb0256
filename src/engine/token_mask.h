// Constrained decoding over token bytes.
//
// TokenVocabulary: every token's byte string (what the decoder emits for it), arranged as a
// trie, built once per tokenizer. Special tokens and ids without bytes never appear in
// constrained output; the EOS ids are allowed exactly when the value is complete.
//
// CompiledGrammar: a Grammar bound to a vocabulary, with a cache of token masks keyed by the
// recognizer state. Computing a mask walks the trie with the recognizer, pruning a subtree at
// the first byte the grammar rejects; the cache makes repeated states (a string body, the
// same place in the same schema on the next request) cost one lookup and one pass over the
// logits. Shared by every request with the same schema (thread-safe).
//
// GrammarMatcher: one request's position in the grammar. Mask() before sampling, Accept()
// after; used by the engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "engine/grammar.h"
#include "text/tokenizer.h"

namespace ts {

class TokenVocabulary {
 public:
  // vocab_size: the number of logits (may exceed the tokenizer's ids: padding rows).
  TokenVocabulary(const text::Tokenizer& tokenizer, int32_t vocab_size,
                  std::vector<int32_t> eos_ids);

  int32_t vocab_size() const { return vocab_size_; }
  const std::vector<int32_t>& eos_ids() const { return eos_ids_; }
  const std::string& bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  int32_t max_token_bytes() const { return max_token_bytes_; }
  bool is_eos(int32_t id) const;

  struct Node {
    int32_t first_edge = 0, num_edges = 0;    // into edges()
    int32_t first_token = 0, num_tokens = 0;  // into tokens(): ids whose bytes end here
  };
  struct Edge {
    uint8_t byte = 0;
    int32_t child = 0;
  };
  const std::vector<Node>& nodes() const { return nodes_; }  // [0] is the root
  const std::vector<Edge>& edges() const { return edges_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }

 private:
  int32_t vocab_size_;
  std::vector<int32_t> eos_ids_;
  int32_t max_token_bytes_ = 0;
  std::vector<std::string> bytes_;  // [vocab_size]; "" for tokens constrained output never uses
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  std::vector<int32_t> tokens_;
};

// The tokens allowed in one state, stored as whichever list is shorter.
struct TokenMask {
  bool lists_allowed = true;  // ids lists the allowed tokens; false: the forbidden ones
  std::vector<int32_t> ids;   // sorted
  int32_t num_allowed = 0;
};

class CompiledGrammar {
 public:
  static constexpr size_t kMaxCachedMasks = 4096;

  CompiledGrammar(std::shared_ptr<const Grammar> grammar, const TokenVocabulary* vocabulary);

  const Grammar& grammar() const { return *grammar_; }
  const TokenVocabulary& vocabulary() const { return *vocabulary_; }

  // The mask of `state` (computed with `recognizer`, whose arena it points into).
  std::shared_ptr<const TokenMask> MaskFor(GrammarRecognizer* recognizer,
                                           const GrammarRecognizer::State& state) const;

 private:
  std::shared_ptr<const TokenMask> Compute(GrammarRecognizer* recognizer,
                                           const GrammarRecognizer::State& state) const;

  std::shared_ptr<const Grammar> grammar_;
  const TokenVocabulary* vocabulary_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const TokenMask>> cache_;  // by mu_
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> compiled);

  // Sets the logits of tokens that cannot continue the output to -inf. False when no token
  // can (the caller ends the request).
  bool Mask(float* logits);
  // Advances over a sampled token. False when the token breaks the grammar (a bug upstream:
  // Mask forbade it).
  bool Accept(int32_t token);
  // The output so far is a complete value.
  bool is_complete() const { return GrammarRecognizer::IsComplete(state_); }

 private:
  std::shared_ptr<const CompiledGrammar> compiled_;
  GrammarRecognizer recognizer_;
  GrammarRecognizer::State state_, next_;
  std::vector<float> saved_;
  bool finished_ = false;  // EOS accepted
};

}  // namespace ts
