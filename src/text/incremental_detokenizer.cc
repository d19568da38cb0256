#include "text/incremental_detokenizer.h"

#include "text/decoder.h"
#include "text/utf8.h"

namespace ts::text {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special)
    : decoder_(tokenizer.decoder()),
      skip_special_(skip_special),
      strip_remaining_(tokenizer.decoder().leading_spaces_to_strip()) {}

std::string IncrementalDetokenizer::Push(int32_t id) {
  if (!decoder_.HasToken(id) || (skip_special_ && decoder_.IsSpecial(id))) return {};
  std::string_view bytes = decoder_.TokenBytes(id);
  if (decoder_.joins_with_space() && emitted_token_) pending_.push_back(' ');
  emitted_token_ = true;
  while (strip_remaining_ > 0 && pending_.empty() && !bytes.empty()) {
    if (bytes.front() != ' ') {
      strip_remaining_ = 0;
      break;
    }
    bytes.remove_prefix(1);
    --strip_remaining_;
  }
  pending_.append(bytes);
  // Everything before an unfinished character is settled: later bytes cannot change how it
  // decodes, because the unfinished character starts with a lead byte.
  const size_t settled = pending_.size() - IncompleteTailLength(pending_);
  std::string out;
  AppendLossyUtf8(std::string_view(pending_).substr(0, settled), &out);
  pending_.erase(0, settled);
  return out;
}

std::string IncrementalDetokenizer::Finish() {
  std::string out;
  AppendLossyUtf8(pending_, &out);
  pending_.clear();
  return out;
}

}  // namespace ts::text
