// Model-based test: long random sequences of lookup / allocate / grow / commit / free / evict /
// persist / restart on a real KvCache (RAM + SSD tier), checked after every step against a
// reference model written the simplest way (maps of hashes, a counter of free blocks, an LRU by
// timestamps). Every block served from either tier is also checked to hold the KV computed for
// exactly its tokens.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "kv/kv_cache.h"
#include "fault_file_system.h"
#include "kv_test_util.h"

namespace ts {
namespace {

using testing::FillViewBlock;
using testing::SeedOf;
using testing::ViewBlockHolds;

constexpr int32_t kBlockSize = 4;
constexpr int32_t kNumBlocks = 24;

struct BlockHashLess {
  bool operator()(const BlockHash& a, const BlockHash& b) const {
    return a.high != b.high ? a.high < b.high : a.low < b.low;
  }
};

// The reference: what the cache must report, computed naively.
class ReferenceCache {
 public:
  struct Seq {
    std::vector<std::optional<BlockHash>> blocks;  // the hash a block is shared under, if any
  };

  void Restart() {
    free_ = kNumBlocks;
    evictable_.clear();
    referenced_.clear();
  }

  bool InRam(const BlockHash& h) const { return evictable_.contains(h) || referenced_.contains(h); }
  bool OnSsd(const BlockHash& h) const { return ssd_.contains(h); }

  // RAM hits, then SSD hits, for the prompt's hashes.
  std::pair<int32_t, int32_t> Lookup(const std::vector<BlockHash>& hashes) const {
    size_t r = 0;
    while (r < hashes.size() && InRam(hashes[r])) ++r;
    size_t s = r;
    while (s < hashes.size() && OnSsd(hashes[s])) ++s;
    return {static_cast<int32_t>(r), static_cast<int32_t>(s - r)};
  }

  // tail: the hash of a prompt's last block whose KV is copied (it becomes the most recently
  // used evictable block), or null.
  bool Allocate(const std::vector<BlockHash>& hashes, int32_t num_ram, int32_t num_ssd,
                int32_t num_blocks, const BlockHash* tail, Seq* seq) {
    int32_t hit_evictable = 0;
    for (int32_t i = 0; i < num_ram; ++i) hit_evictable += evictable_.contains(hashes[i]) ? 1 : 0;
    const int32_t need = num_blocks - num_ram;
    if (need > free_ + static_cast<int32_t>(evictable_.size()) - hit_evictable) return false;
    if (tail != nullptr && evictable_.contains(*tail)) evictable_[*tail] = ++clock_;
    for (int32_t i = 0; i < num_ram; ++i) {
      evictable_.erase(hashes[i]);
      ++referenced_[hashes[i]];
      seq->blocks.push_back(hashes[i]);
    }
    Take(need);
    seq->blocks.resize(static_cast<size_t>(num_blocks));
    // The SSD load lands and its blocks are shared unless an equal block already is.
    for (int32_t i = num_ram; i < num_ram + num_ssd; ++i) Share(hashes[i], seq, i);
    return true;
  }

  bool Grow(Seq* seq, int32_t num_blocks) {
    const int32_t need = num_blocks - static_cast<int32_t>(seq->blocks.size());
    if (need <= 0) return true;
    if (need > free_ + static_cast<int32_t>(evictable_.size())) return false;
    Take(need);
    seq->blocks.resize(static_cast<size_t>(num_blocks));
    return true;
  }

  void Commit(const BlockHash& h, Seq* seq, int32_t index) {
    Share(h, seq, index);
    ssd_.insert(h);
  }

  void Free(const Seq& seq) {
    for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it) {
      if (!it->has_value()) {
        ++free_;
      } else if (--referenced_[**it] == 0) {
        referenced_.erase(**it);
        evictable_[**it] = ++clock_;
      }
    }
  }

  int32_t free_blocks() const { return free_; }
  int32_t evictable_blocks() const { return static_cast<int32_t>(evictable_.size()); }

 private:
  void Take(int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
      if (free_ > 0) {
        --free_;
        continue;
      }
      auto oldest = evictable_.begin();
      for (auto it = evictable_.begin(); it != evictable_.end(); ++it) {
        if (it->second < oldest->second) oldest = it;
      }
      evictable_.erase(oldest);
    }
  }

  void Share(const BlockHash& h, Seq* seq, int32_t index) {
    if (InRam(h)) return;  // an equal block is shared already: this one stays private
    referenced_[h] = 1;
    seq->blocks[static_cast<size_t>(index)] = h;
  }

  int32_t free_ = kNumBlocks;
  std::map<BlockHash, uint64_t, BlockHashLess> evictable_;  // hash -> release time
  std::map<BlockHash, int32_t, BlockHashLess> referenced_;  // hash -> refcount
  std::set<BlockHash, BlockHashLess> ssd_;
  uint64_t clock_ = 0;
};

class KvCacheRandomTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  struct Live {
    KvSequence seq;
    ReferenceCache::Seq ref;
    std::vector<int32_t> tokens;
    std::string salt;
    int32_t num_committed_blocks = 0;
  };

  void SetUp() override {
    fs_.skip_sync = true;
    options_.layout = testing::SmallLayout(kBlockSize);
    options_.num_blocks = kNumBlocks;
    options_.model_fingerprint = {.low = 7, .high = 9};
    SsdCacheOptions ssd;
    ssd.dir = dir_.path() + "/ssd";
    options_.ssd = ssd;
    cache_ = KvCache::Create(options_, &fs_).value();
    rng_.seed(GetParam());
    for (int d = 0; d < 3; ++d) documents_.push_back(testing::Tokens(14 * kBlockSize, d + 100));
  }

  std::vector<BlockHash> Hashes(std::span<const int32_t> tokens, const std::string& salt) const {
    std::vector<BlockHash> hashes;
    HashFullBlocks(ChainRoot(cache_->cache_fingerprint(), salt), tokens, kBlockSize, 0, "",
                   &hashes);
    return hashes;
  }

  int32_t Uniform(int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(rng_);
  }

  std::vector<int32_t> RandomPrompt() {
    const auto& doc = documents_[static_cast<size_t>(Uniform(0, 2))];
    std::vector<int32_t> prompt(doc.begin(), doc.begin() + Uniform(1, 10 * kBlockSize));
    const int32_t suffix = Uniform(0, 2 * kBlockSize);
    for (int32_t i = 0; i < suffix; ++i) prompt.push_back(Uniform(0, 3));
    return prompt;
  }

  // The model fills every newly full block with its hash's KV, then commits (cache and ref).
  void ComputeAndCommit(Live* live) {
    const std::vector<BlockHash> hashes = Hashes(live->tokens, live->salt);
    for (size_t i = static_cast<size_t>(live->num_committed_blocks); i < hashes.size(); ++i) {
      FillViewBlock(cache_->pool_view(), live->seq.block_ids()[i], SeedOf(hashes[i]));
      ref_.Commit(hashes[i], &live->ref, static_cast<int32_t>(i));
    }
    cache_->Commit(&live->seq, live->tokens, static_cast<int32_t>(live->tokens.size()));
    live->num_committed_blocks = static_cast<int32_t>(hashes.size());
  }

  void Admit() {
    Live live{.seq = {}, .ref = {}, .tokens = RandomPrompt(),
              .salt = Uniform(0, 4) == 0 ? "s" : "", .num_committed_blocks = 0};
    const CacheKeys keys{.salt = live.salt, .extra = ""};
    const PrefixHit hit = cache_->Lookup(live.tokens, keys);
    const std::vector<BlockHash> hashes =
        Hashes(std::span(live.tokens).first(live.tokens.size() - 1), live.salt);
    ASSERT_EQ(hit.hashes, hashes);
    const auto [want_ram, want_ssd] = ref_.Lookup(hashes);
    ASSERT_EQ(hit.num_ram_blocks(), want_ram);
    ASSERT_EQ(hit.num_ssd_blocks, want_ssd);
    // A prompt ending a block that is in RAM with all before it: that block is copied.
    const std::vector<BlockHash> all = Hashes(live.tokens, live.salt);
    const bool want_tail = live.tokens.size() % kBlockSize == 0 &&
                           ref_.Lookup(all).first == static_cast<int32_t>(all.size());
    ASSERT_EQ(hit.tail_block_id >= 0, want_tail);
    const int32_t num_blocks =
        static_cast<int32_t>((live.tokens.size() + kBlockSize - 1) / kBlockSize);
    auto seq = cache_->Allocate(hit, live.tokens, static_cast<int32_t>(live.tokens.size()), keys);
    const bool ref_ok = ref_.Allocate(hashes, want_ram, want_ssd, num_blocks,
                                      want_tail ? &all.back() : nullptr, &live.ref);
    ASSERT_EQ(seq.ok(), ref_ok) << seq.status().ToString();
    if (!seq.ok()) return;
    live.seq = std::move(seq).value();
    if (live.seq.is_loading()) {
      cache_->FlushSsd();
      ASSERT_EQ(cache_->PollLoads(), std::vector<uint64_t>{live.seq.load_id()});
      cache_->FinishLoad(&live.seq);
    }
    ASSERT_EQ(live.seq.num_cached_tokens(),
              (want_ram + want_ssd) * kBlockSize + (want_tail ? kBlockSize - 1 : 0));
    if (want_tail) {
      ASSERT_TRUE(ViewBlockHolds(cache_->pool_view(),
                                 live.seq.block_ids()[static_cast<size_t>(want_ram)],
                                 SeedOf(all.back())))
          << "the copied last block holds KV of other tokens";
    }
    for (int32_t i = 0; i < want_ram + want_ssd; ++i) {
      ASSERT_TRUE(ViewBlockHolds(cache_->pool_view(), live.seq.block_ids()[static_cast<size_t>(i)],
                                 SeedOf(hashes[static_cast<size_t>(i)])))
          << "block " << i << " holds KV of other tokens";
    }
    live.num_committed_blocks = want_ram + want_ssd;
    ComputeAndCommit(&live);
    live_.push_back(std::move(live));
  }

  void Decode() {
    Live& live = live_[static_cast<size_t>(Uniform(0, static_cast<int32_t>(live_.size()) - 1))];
    const int32_t n = Uniform(1, 2 * kBlockSize);
    const size_t new_size = live.tokens.size() + static_cast<size_t>(n);
    const int32_t num_blocks = static_cast<int32_t>((new_size + kBlockSize - 1) / kBlockSize);
    const Status grown = cache_->Grow(&live.seq, static_cast<int32_t>(new_size));
    ASSERT_EQ(grown.ok(), ref_.Grow(&live.ref, num_blocks));
    if (!grown.ok()) return;
    for (int32_t i = 0; i < n; ++i) live.tokens.push_back(Uniform(0, 3));
    ComputeAndCommit(&live);
  }

  void Free() {
    const size_t i = static_cast<size_t>(Uniform(0, static_cast<int32_t>(live_.size()) - 1));
    ref_.Free(live_[i].ref);
    cache_->Free(std::move(live_[i].seq));
    live_.erase(live_.begin() + static_cast<ptrdiff_t>(i));
  }

  // Adds this instance's counters to the run's totals (a restart starts them from zero).
  void Tally() {
    const KvCacheStats s = cache_->stats();
    ram_hits_ += s.ram_hit_blocks;
    ssd_hits_ += s.ssd.hit_blocks;
    evictions_ += s.ram_evictions;
  }

  void Restart() {
    while (!live_.empty()) Free();
    Tally();
    cache_.reset();
    cache_ = KvCache::Create(options_, &fs_).value();
    ref_.Restart();
  }

  void CheckCounts() {
    const KvCacheStats s = cache_->stats();
    ASSERT_EQ(s.ram_free_blocks, ref_.free_blocks());
    ASSERT_EQ(s.ram_cached_blocks, ref_.evictable_blocks());
    ASSERT_EQ(s.ram_used_blocks, kNumBlocks - ref_.free_blocks() - ref_.evictable_blocks());
    ASSERT_EQ(s.ssd.dropped_writes, 0);
  }

  testing::TempDir dir_;
  PosixFileSystem posix_;
  testing::FaultFileSystem fs_{&posix_};
  KvCacheOptions options_;
  std::unique_ptr<KvCache> cache_;
  ReferenceCache ref_;
  std::vector<Live> live_;
  std::vector<std::vector<int32_t>> documents_;
  std::mt19937 rng_;
  int64_t ram_hits_ = 0;
  int64_t ssd_hits_ = 0;
  int64_t evictions_ = 0;
};

TEST_P(KvCacheRandomTest, MatchesReference) {
  for (int step = 0; step < 2000; ++step) {
    const int32_t op = Uniform(0, 99);
    if (op < 40 || live_.empty()) {
      if (live_.size() < 5) {
        ASSERT_NO_FATAL_FAILURE(Admit());
      }
    } else if (op < 65) {
      ASSERT_NO_FATAL_FAILURE(Decode());
    } else if (op < 99) {
      Free();
    } else {
      Restart();
    }
    ASSERT_NO_FATAL_FAILURE(CheckCounts()) << "step " << step;
  }
  Tally();
  // The run must have exercised every path it checks.
  EXPECT_GT(ram_hits_, 0);
  EXPECT_GT(ssd_hits_, 0);
  EXPECT_GT(evictions_, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, KvCacheRandomTest, ::testing::Values(1u, 2u, 3u, 4u));

}  // namespace
}  // namespace ts
