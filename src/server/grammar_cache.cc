#include "server/grammar_cache.h"

namespace ts::server {

GrammarCache::GrammarCache(std::unique_ptr<TokenVocabulary> vocabulary)
    : vocabulary_(std::move(vocabulary)) {}

Result<std::shared_ptr<const CompiledGrammar>> GrammarCache::Get(
    const std::string& key,
    const std::function<Result<std::shared_ptr<const Grammar>>()>& compile) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      entries_.splice(entries_.begin(), entries_, it->second);
      return it->second->second;
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Grammar> grammar, compile());
  auto compiled = std::make_shared<const CompiledGrammar>(std::move(grammar), vocabulary_.get());
  std::lock_guard<std::mutex> lock(mu_);
  if (index_.contains(key)) return compiled;  // another thread compiled it meanwhile
  entries_.emplace_front(key, compiled);
  index_.emplace(key, entries_.begin());
  if (entries_.size() > kMaxEntries) {
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
  return compiled;
}

}  // namespace ts::server
