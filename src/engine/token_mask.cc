#include "engine/token_mask.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "base/check.h"
#include "text/decoder.h"

namespace ts {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Builds the trie node for ids[lo, hi) (sorted by bytes, all sharing their first `depth`
// bytes) and returns its index.
int32_t BuildTrie(const std::vector<std::string>& bytes, const std::vector<int32_t>& ids, size_t lo,
                  size_t hi, size_t depth, std::vector<TokenVocabulary::Node>* nodes,
                  std::vector<TokenVocabulary::Edge>* edges, std::vector<int32_t>* tokens) {
  const auto index = static_cast<int32_t>(nodes->size());
  nodes->emplace_back();
  TokenVocabulary::Node node;
  node.first_token = static_cast<int32_t>(tokens->size());
  size_t i = lo;
  while (i < hi && bytes[static_cast<size_t>(ids[i])].size() == depth) tokens->push_back(ids[i++]);
  node.num_tokens = static_cast<int32_t>(tokens->size()) - node.first_token;
  // Groups of ids by their byte at `depth`.
  std::vector<std::pair<size_t, size_t>> groups;
  while (i < hi) {
    const char c = bytes[static_cast<size_t>(ids[i])][depth];
    size_t j = i;
    while (j < hi && bytes[static_cast<size_t>(ids[j])][depth] == c) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  node.first_edge = static_cast<int32_t>(edges->size());
  node.num_edges = static_cast<int32_t>(groups.size());
  edges->resize(edges->size() + groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto [a, b] = groups[g];
    const int32_t child = BuildTrie(bytes, ids, a, b, depth + 1, nodes, edges, tokens);
    auto& e = (*edges)[static_cast<size_t>(node.first_edge) + g];
    e.byte = static_cast<uint8_t>(bytes[static_cast<size_t>(ids[a])][depth]);
    e.child = child;
  }
  (*nodes)[static_cast<size_t>(index)] = node;
  return index;
}

// Depth-first walk of the trie with the recognizer; marks every token whose bytes the grammar
// accepts from `state`.
class TrieWalk {
 public:
  TrieWalk(const TokenVocabulary& vocabulary, GrammarRecognizer* recognizer,
           std::vector<char>* allowed)
      : vocabulary_(vocabulary), recognizer_(recognizer), allowed_(allowed) {}

  void Walk(int32_t node_index, const GrammarRecognizer::State& state, size_t depth) {
    const TokenVocabulary::Node& node = vocabulary_.nodes()[static_cast<size_t>(node_index)];
    if (depth > 0) {
      for (int32_t t = 0; t < node.num_tokens; ++t) {
        (*allowed_)[static_cast<size_t>(
            vocabulary_.tokens()[static_cast<size_t>(node.first_token + t)])] = 1;
      }
    }
    if (states_.size() <= depth) states_.resize(depth + 1);
    for (int32_t e = 0; e < node.num_edges; ++e) {
      const TokenVocabulary::Edge& edge =
          vocabulary_.edges()[static_cast<size_t>(node.first_edge + e)];
      const size_t mark = recognizer_->Mark();
      recognizer_->Step(state, edge.byte, &states_[depth]);
      if (!states_[depth].empty()) {
        // The recursion may grow states_; the state moves out (keeping its buffer) and back.
        GrammarRecognizer::State next = std::move(states_[depth]);
        Walk(edge.child, next, depth + 1);
        states_[depth] = std::move(next);
      }
      recognizer_->Release(mark);
    }
  }

 private:
  const TokenVocabulary& vocabulary_;
  GrammarRecognizer* recognizer_;
  std::vector<char>* allowed_;
  std::vector<GrammarRecognizer::State> states_;  // per depth, reused
};

}  // namespace

TokenVocabulary::TokenVocabulary(const text::Tokenizer& tokenizer, int32_t vocab_size,
                                 std::vector<int32_t> eos_ids)
    : vocab_size_(vocab_size),
      eos_ids_(std::move(eos_ids)),
      bytes_(static_cast<size_t>(vocab_size)) {
  const text::Decoder& decoder = tokenizer.decoder();
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < vocab_size; ++id) {
    if (!decoder.HasToken(id) || decoder.IsSpecial(id) || is_eos(id)) continue;
    std::string_view b = decoder.TokenBytes(id);
    if (b.empty()) continue;
    bytes_[static_cast<size_t>(id)] = std::string(b);
    max_token_bytes_ = std::max(max_token_bytes_, static_cast<int32_t>(b.size()));
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return bytes_[static_cast<size_t>(a)] < bytes_[static_cast<size_t>(b)] ||
           (bytes_[static_cast<size_t>(a)] == bytes_[static_cast<size_t>(b)] && a < b);
  });
  BuildTrie(bytes_, ids, 0, ids.size(), 0, &nodes_, &edges_, &tokens_);
}

bool TokenVocabulary::is_eos(int32_t id) const {
  return std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
}

CompiledGrammar::CompiledGrammar(std::shared_ptr<const Grammar> grammar,
                                 const TokenVocabulary* vocabulary)
    : grammar_(std::move(grammar)), vocabulary_(vocabulary) {}

std::shared_ptr<const TokenMask> CompiledGrammar::MaskFor(
    GrammarRecognizer* recognizer, const GrammarRecognizer::State& state) const {
  std::string key = recognizer->MaskKey(state, vocabulary_->max_token_bytes());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  std::shared_ptr<const TokenMask> mask = Compute(recognizer, state);
  std::lock_guard<std::mutex> lock(mu_);
  // A full cache starts over: simple, bounded, and the states that matter come back first.
  if (cache_.size() >= kMaxCachedMasks) cache_.clear();
  cache_.emplace(std::move(key), mask);
  return mask;
}

std::shared_ptr<const TokenMask> CompiledGrammar::Compute(
    GrammarRecognizer* recognizer, const GrammarRecognizer::State& state) const {
  const TokenVocabulary& v = *vocabulary_;
  std::vector<char> allowed(static_cast<size_t>(v.vocab_size()), 0);
  const size_t mark = recognizer->Mark();
  TrieWalk walk(v, recognizer, &allowed);
  walk.Walk(0, state, 0);
  recognizer->Release(mark);
  if (GrammarRecognizer::IsComplete(state)) {
    for (int32_t id : v.eos_ids()) {
      if (id >= 0 && id < v.vocab_size()) allowed[static_cast<size_t>(id)] = 1;
    }
  }
  auto mask = std::make_shared<TokenMask>();
  mask->num_allowed = static_cast<int32_t>(std::count(allowed.begin(), allowed.end(), 1));
  mask->lists_allowed = mask->num_allowed <= v.vocab_size() / 2;
  for (int32_t id = 0; id < v.vocab_size(); ++id) {
    if ((allowed[static_cast<size_t>(id)] != 0) == mask->lists_allowed) mask->ids.push_back(id);
  }
  return mask;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> compiled)
    : compiled_(std::move(compiled)), recognizer_(&compiled_->grammar()) {
  state_ = recognizer_.Start();
}

bool GrammarMatcher::Mask(float* logits) {
  const int32_t vocab = compiled_->vocabulary().vocab_size();
  if (finished_) {
    // After EOS nothing follows; the engine ends the request on EOS, so this is a guard.
    std::fill(logits, logits + vocab, kNegInf);
    return false;
  }
  std::shared_ptr<const TokenMask> mask = compiled_->MaskFor(&recognizer_, state_);
  if (mask->num_allowed == 0) return false;
  if (mask->lists_allowed) {
    saved_.resize(mask->ids.size());
    for (size_t i = 0; i < mask->ids.size(); ++i) saved_[i] = logits[mask->ids[i]];
    std::fill(logits, logits + vocab, kNegInf);
    for (size_t i = 0; i < mask->ids.size(); ++i) logits[mask->ids[i]] = saved_[i];
  } else {
    for (int32_t id : mask->ids) logits[id] = kNegInf;
  }
  return true;
}

bool GrammarMatcher::Accept(int32_t token) {
  const TokenVocabulary& v = compiled_->vocabulary();
  if (finished_ || token < 0 || token >= v.vocab_size()) return false;
  if (v.is_eos(token)) {
    finished_ = true;
    return is_complete();
  }
  const std::string& bytes = v.bytes(token);
  if (bytes.empty()) return false;
  for (char c : bytes) {
    recognizer_.Step(state_, static_cast<uint8_t>(c), &next_);
    if (next_.empty()) return false;
    std::swap(state_, next_);
  }
  state_ = recognizer_.Compact(state_);
  return true;
}

}  // namespace ts
