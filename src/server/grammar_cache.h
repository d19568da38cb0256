// GrammarCache: compiled grammars for response_format schemas and forced tool calls, keyed by
// what they were compiled from, so a schema sent again reuses its grammar and its mask cache
// (token_mask.h). Holds the vocabulary the masks are computed over (built once at startup).
//
// Thread-safe: HTTP worker threads call Get concurrently; compilation runs outside the lock.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "engine/token_mask.h"

namespace ts::server {

class GrammarCache {
 public:
  static constexpr size_t kMaxEntries = 64;

  explicit GrammarCache(std::unique_ptr<TokenVocabulary> vocabulary);

  // The grammar cached under `key`, or `compile()`'s result (cached when it succeeds).
  Result<std::shared_ptr<const CompiledGrammar>> Get(
      const std::string& key,
      const std::function<Result<std::shared_ptr<const Grammar>>()>& compile);

 private:
  std::unique_ptr<TokenVocabulary> vocabulary_;
  std::mutex mu_;
  // Least recently used last; the map points into the list.
  std::list<std::pair<std::string, std::shared_ptr<const CompiledGrammar>>> entries_;
  std::unordered_map<std::string, decltype(entries_)::iterator> index_;
};

}  // namespace ts::server
