#include "text/bpe.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace ts::text {

struct BpeModel::Symbol {
  int32_t id;      // -1: a character missing from the vocabulary
  int32_t prev;    // index of the previous live symbol, -1 at the start
  int32_t next;    // index of the next live symbol, -1 at the end
  uint32_t begin;  // byte range of the symbol in the word
  uint32_t end;    // begin == end: merged into its left neighbour
};

struct BpeModel::Candidate {
  uint32_t rank;
  uint32_t pos;
  // Min-heap on (rank, pos): std::push_heap builds a max-heap, so the order is reversed.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

// Open-addressing hash table from a pair of ids to (rank, merged id): the hottest lookup of
// the merge loop, so it avoids node allocation and string hashing.
class BpeModel::PairTable {
 public:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };

  explicit PairTable(size_t num_merges) {
    size_t cap = 16;
    while (cap < num_merges * 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, {0, 0}});
    mask_ = cap - 1;
  }

  // Keeps the first (lowest-rank) entry when a pair is listed twice.
  void Insert(int32_t left, int32_t right, Merge merge) {
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = {key, merge};
        return;
      }
      if (slots_[i].key == key) return;
    }
  }

  const Merge* Find(int32_t left, int32_t right) const {
    if (left < 0 || right < 0) return nullptr;
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static uint64_t Key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  static size_t Hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

namespace {

using json = nlohmann::json;

// U+2581, SentencePiece's stand-in for a space.
constexpr std::string_view kMetaspace = "\xE2\x96\x81";

// A merge written either as ["a", "b"] (tokenizers >= 0.20) or as "a b".
Status ParseMerge(const json& merge, std::string* left, std::string* right) {
  if (merge.is_array() && merge.size() == 2) {
    *left = merge[0].get<std::string>();
    *right = merge[1].get<std::string>();
    return Status::Ok();
  }
  const std::string line = merge.get<std::string>();
  const size_t space = line.find(' ', 1);
  if (space == std::string::npos) return InvalidArgument("malformed merge: " + line);
  *left = line.substr(0, space);
  *right = line.substr(space + 1);
  return Status::Ok();
}

}  // namespace

BpeModel::BpeModel() = default;
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;
BpeModel::~BpeModel() = default;

Result<BpeModel> BpeModel::Create(const nlohmann::json& config, bool byte_level) {
  BpeModel model;
  model.byte_level_ = byte_level;
  try {
    if (config.value("type", "BPE") != "BPE") {
      return Unimplemented("tokenizer model type " + config.value("type", ""));
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (config.contains(key) && !config.at(key).is_null() &&
          !config.at(key).get<std::string>().empty()) {
        return Unimplemented(std::string("BPE ") + key);
      }
    }
    if (config.contains("dropout") && !config.at("dropout").is_null()) {
      return Unimplemented("BPE dropout");
    }
    model.byte_fallback_ = config.value("byte_fallback", false);
    model.ignore_merges_ = config.value("ignore_merges", false);
    model.fuse_unk_ = config.value("fuse_unk", false);

    const json& vocab = config.at("vocab");
    model.vocab_.reserve(vocab.size());
    for (const auto& [token, id_json] : vocab.items()) {
      const auto id = id_json.get<int64_t>();
      if (id < 0 || id >= INT32_MAX) return InvalidArgument("vocab id out of range: " + token);
      model.vocab_.emplace(token, static_cast<int32_t>(id));
    }
    model.token_to_id_.reserve(model.vocab_.size());
    for (const auto& [token, id] : model.vocab_) {
      if (!byte_level) {
        model.token_to_id_.emplace(token, id);
      } else if (std::optional<std::string> bytes = ByteLevelToBytes(token)) {
        model.token_to_id_.emplace(std::move(*bytes), id);
      }
    }
    if (config.contains("unk_token") && config.at("unk_token").is_string()) {
      model.unk_id_ = model.Find(config.at("unk_token").get<std::string>());
    }
    for (int b = 0; b < 256; ++b) {
      model.byte_to_id_[b] = -1;
      model.byte_fallback_id_[b] = -1;
      if (byte_level) {
        const std::optional<int32_t> id = model.Find(std::string(1, static_cast<char>(b)));
        if (!id) return InvalidArgument("byte-level vocabulary lacks byte " + std::to_string(b));
        model.byte_to_id_[b] = *id;
      } else {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        model.byte_fallback_id_[b] = model.Find(name).value_or(-1);
      }
    }

    const json& merges = config.at("merges");
    model.merges_ = std::make_unique<PairTable>(merges.size());
    std::string left;
    std::string right;
    uint32_t rank = 0;
    for (const json& merge : merges) {
      RETURN_IF_ERROR(ParseMerge(merge, &left, &right));
      const auto left_id = model.vocab_.find(left);
      const auto right_id = model.vocab_.find(right);
      const auto merged_id = model.vocab_.find(left + right);
      if (left_id == model.vocab_.end() || right_id == model.vocab_.end() ||
          merged_id == model.vocab_.end()) {
        return InvalidArgument("merge of tokens missing from the vocabulary: " + left + " " +
                               right);
      }
      model.merges_->Insert(left_id->second, right_id->second, {rank++, merged_id->second});
      if (!byte_level && right.starts_with(kMetaspace) && !left.ends_with(kMetaspace)) {
        size_t last = left.size() - 1;
        while (last > 0 && (static_cast<uint8_t>(left[last]) & 0xC0) == 0x80) --last;
        model.no_cut_after_.insert(DecodeSequence(left, last, ValidSequenceLength(left, last)));
      }
    }
    model.cut_at_metaspace_ = !byte_level && !model.ignore_merges_;
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("BPE model: ") + e.what());
  }
  model.cache_ = std::make_unique<WordCache>();
  return model;
}

std::optional<int32_t> BpeModel::Find(std::string_view model_token) const {
  auto it = token_to_id_.find(model_token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

Status BpeModel::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  if (!cut_at_metaspace_ || word.size() <= WordCache::kMaxWordBytes) {
    return EncodeSegment(word, ids);
  }
  size_t segment_begin = 0;
  size_t pos = word.find(kMetaspace, 1);
  while (pos != std::string_view::npos) {
    size_t prev = pos - 1;
    while (prev > 0 && (static_cast<uint8_t>(word[prev]) & 0xC0) == 0x80) --prev;
    const std::string_view prev_char = word.substr(prev, pos - prev);
    const size_t len = ValidSequenceLength(word, prev);
    if (prev_char != kMetaspace && len == prev_char.size() &&
        !no_cut_after_.contains(DecodeSequence(word, prev, len))) {
      RETURN_IF_ERROR(EncodeSegment(word.substr(segment_begin, pos - segment_begin), ids));
      segment_begin = pos;
    }
    pos = word.find(kMetaspace, pos + kMetaspace.size());
  }
  return EncodeSegment(word.substr(segment_begin), ids);
}

Status BpeModel::EncodeSegment(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() <= WordCache::kMaxWordBytes && cache_->Lookup(word, ids)) return Status::Ok();
  const size_t first = ids->size();
  if (ignore_merges_) {
    if (std::optional<int32_t> id = Find(word)) {
      ids->push_back(*id);
      return Status::Ok();
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  size_t pos = 0;
  while (pos < word.size()) {
    size_t len = 1;
    int32_t id;
    if (byte_level_) {
      id = byte_to_id_[static_cast<uint8_t>(word[pos])];
    } else {
      len = ValidSequenceLength(word, pos);
      if (len == 0) return InvalidArgument("BPE word is not valid UTF-8");
      id = Find(word.substr(pos, len)).value_or(-1);
    }
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back(
        {id, index - 1, index + 1, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + len)});
    pos += len;
  }
  symbols.back().next = -1;
  RETURN_IF_ERROR(MergeAndEmit(word, &symbols, ids));
  if (word.size() <= WordCache::kMaxWordBytes) {
    cache_->Insert(word, std::span<const int32_t>(ids->data() + first, ids->size() - first));
  }
  return Status::Ok();
}

Status BpeModel::MergeAndEmit(std::string_view word, std::vector<Symbol>* symbols_ptr,
                              std::vector<int32_t>* ids) const {
  std::vector<Symbol>& symbols = *symbols_ptr;
  std::vector<Candidate> heap;
  heap.reserve(symbols.size());
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const PairTable::Merge* m = merges_->Find(symbols[i].id, symbols[i + 1].id)) {
      heap.push_back({m->rank, static_cast<uint32_t>(i)});
    }
  }
  std::make_heap(heap.begin(), heap.end());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.begin == left.end || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const PairTable::Merge* m = merges_->Find(left.id, right.id);
    // Stale: the pair at this position changed since the candidate was pushed.
    if (m == nullptr || m->rank != top.rank) continue;
    left.id = m->new_id;
    left.end = right.end;
    left.next = right.next;
    right.begin = right.end;
    if (left.next >= 0) symbols[left.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) {
      if (const PairTable::Merge* pm = merges_->Find(symbols[left.prev].id, left.id)) {
        heap.push_back({pm->rank, static_cast<uint32_t>(left.prev)});
        std::push_heap(heap.begin(), heap.end());
      }
    }
    if (left.next >= 0) {
      if (const PairTable::Merge* nm = merges_->Find(left.id, symbols[left.next].id)) {
        heap.push_back({nm->rank, top.pos});
        std::push_heap(heap.begin(), heap.end());
      }
    }
  }
  // Walk the surviving symbols; runs of unknown characters are emitted together so that
  // fuse_unk can turn them into one unknown token.
  for (int32_t i = 0; i >= 0;) {
    if (symbols[i].id >= 0) {
      ids->push_back(symbols[i].id);
      i = symbols[i].next;
      continue;
    }
    int32_t j = i;
    while (symbols[j].next >= 0 && symbols[symbols[j].next].id < 0) j = symbols[j].next;
    const std::string_view unknown =
        word.substr(symbols[i].begin, symbols[j].end - symbols[i].begin);
    RETURN_IF_ERROR(EmitUnknown(unknown, ids));
    i = symbols[j].next;
  }
  return Status::Ok();
}

Status BpeModel::EmitUnknown(std::string_view text, std::vector<int32_t>* ids) const {
  size_t pos = 0;
  bool previous_was_unk = false;
  while (pos < text.size()) {
    const size_t len = ValidSequenceLength(text, pos);
    bool all_bytes = byte_fallback_;
    for (size_t k = 0; all_bytes && k < len; ++k) {
      all_bytes = byte_fallback_id_[static_cast<uint8_t>(text[pos + k])] >= 0;
    }
    if (all_bytes) {
      for (size_t k = 0; k < len; ++k) {
        ids->push_back(byte_fallback_id_[static_cast<uint8_t>(text[pos + k])]);
      }
      previous_was_unk = false;
    } else {
      if (!unk_id_) return InvalidArgument("character not in the vocabulary and no unk_token");
      if (!(fuse_unk_ && previous_was_unk)) ids->push_back(*unk_id_);
      previous_was_unk = true;
    }
    pos += len;
  }
  return Status::Ok();
}

}  // namespace ts::text
