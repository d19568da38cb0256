#include "text/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "text/utf8.h"

namespace ts::text {
namespace {

// Unicode White_Space, as Rust's char::is_whitespace (lstrip/rstrip).
bool IsWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Letters, numbers and '_' (single_word boundaries).
bool IsWordChar(char32_t cp) {
  if (cp == '_') return true;
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

// Start of the character that ends just before pos. REQUIRES: pos > 0, text valid UTF-8.
size_t PreviousCharStart(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

char32_t CharAt(std::string_view text, size_t pos) {
  return DecodeSequence(text, pos, ValidSequenceLength(text, pos));
}

}  // namespace

void AddedVocabulary::Trie::Insert(std::string_view key, int32_t token) {
  int32_t node = 0;
  for (const char ch : key) {
    const auto byte = static_cast<uint8_t>(ch);
    int32_t next = Child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes.size());
      auto& children = nodes[node].children;
      children.insert(
          std::upper_bound(children.begin(), children.end(), std::pair<uint8_t, int32_t>{byte, -1}),
          {byte, next});
      nodes.emplace_back();
    }
    node = next;
  }
  nodes[node].token = token;
  first_byte[static_cast<uint8_t>(key[0])] = true;
}

int32_t AddedVocabulary::Trie::Child(int32_t node, uint8_t byte) const {
  const auto& children = nodes[node].children;
  auto it =
      std::lower_bound(children.begin(), children.end(), std::pair<uint8_t, int32_t>{byte, -1});
  return it != children.end() && it->first == byte ? it->second : -1;
}

Result<AddedVocabulary> AddedVocabulary::Create(const nlohmann::json& added_tokens) {
  AddedVocabulary vocab;
  if (added_tokens.is_null()) return vocab;
  try {
    for (const nlohmann::json& t : added_tokens) {
      AddedToken token;
      const auto id = t.at("id").get<int64_t>();
      if (id < 0 || id >= INT32_MAX) return InvalidArgument("added token id out of range");
      token.id = static_cast<int32_t>(id);
      token.content = t.at("content").get<std::string>();
      token.special = t.value("special", false);
      token.lstrip = t.value("lstrip", false);
      token.rstrip = t.value("rstrip", false);
      token.single_word = t.value("single_word", false);
      token.normalized = t.value("normalized", !token.special);
      if (token.content.empty()) return InvalidArgument("empty added token");
      if (!IsValidUtf8(token.content)) return InvalidArgument("added token is not UTF-8");
      const size_t index = vocab.tokens_.size();
      if (!vocab.index_by_content_.emplace(token.content, index).second ||
          !vocab.index_by_id_.emplace(token.id, index).second) {
        return InvalidArgument("duplicate added token " + token.content);
      }
      (token.normalized ? vocab.normalized_trie_ : vocab.raw_trie_)
          .Insert(token.content, static_cast<int32_t>(index));
      vocab.tokens_.push_back(std::move(token));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("added_tokens: ") + e.what());
  }
  return vocab;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::FindByContent(std::string_view content) const {
  auto it = index_by_content_.find(std::string(content));
  if (it == index_by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

size_t AddedVocabulary::LongestMatch(const Trie& trie, std::string_view text, size_t pos,
                                     bool parse_special, int32_t* token) const {
  size_t best_end = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = trie.Child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    const int32_t t = trie.nodes[node].token;
    if (t >= 0 && (parse_special || !tokens_[t].special)) {
      best_end = i + 1;
      *token = t;
    }
  }
  return best_end;
}

void AddedVocabulary::Split(std::string_view text, bool normalized_tokens, bool parse_special,
                            std::vector<TextSection>* sections) const {
  const Trie& trie = normalized_tokens ? normalized_trie_ : raw_trie_;
  size_t plain_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t t = -1;
    size_t end = 0;
    if (trie.first_byte[static_cast<uint8_t>(text[pos])]) {
      end = LongestMatch(trie, text, pos, parse_special, &t);
    }
    if (end == 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[t];
    if (token.single_word && ((pos > 0 && IsWordChar(CharAt(text, PreviousCharStart(text, pos)))) ||
                              (end < text.size() && IsWordChar(CharAt(text, end))))) {
      ++pos;
      continue;
    }
    size_t begin = pos;
    if (token.lstrip) {
      while (begin > plain_begin) {
        const size_t prev = PreviousCharStart(text, begin);
        if (!IsWhitespace(CharAt(text, prev))) break;
        begin = prev;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        const size_t len = ValidSequenceLength(text, end);
        if (!IsWhitespace(DecodeSequence(text, end, len))) break;
        end += len;
      }
    }
    if (begin > plain_begin) {
      sections->push_back({static_cast<uint32_t>(plain_begin), static_cast<uint32_t>(begin), -1});
    }
    sections->push_back({static_cast<uint32_t>(begin), static_cast<uint32_t>(end), token.id});
    pos = end;
    plain_begin = end;
  }
  if (plain_begin < text.size() || text.empty()) {
    sections->push_back(
        {static_cast<uint32_t>(plain_begin), static_cast<uint32_t>(text.size()), -1});
  }
}

}  // namespace ts::text
