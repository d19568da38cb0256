// IncrementalDetokenizer: streams the text of generated tokens, one token at a time.
//
// Contract (what the engine's streams rely on):
//   - every string Push/Finish returns is valid UTF-8;
//   - bytes of a character split across tokens are held back until the character is complete;
//     bytes that can no longer become a character are emitted as U+FFFD right away;
//   - the concatenation of all returned strings equals
//     tokenizer.Decode(all ids, {skip_special, clean_up_spaces=false}).
// Clean-up of tokenization spaces is not applied: it rewrites text across token boundaries,
// which a stream cannot take back.
//
// One instance per sequence; not thread-safe. Borrows the tokenizer, which must outlive it.
// Memory is O(1): at most 3 pending bytes.
#pragma once

#include <cstdint>
#include <string>

#include "text/tokenizer.h"

namespace ts::text {

class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special);

  // Adds one generated id and returns the text it completes (often empty for the first bytes
  // of a multi-byte character). Ids without a token (negative or past the vocabulary), and
  // special ids when skipping them, add nothing.
  std::string Push(int32_t id);

  // Ends the stream: returns what is still held back (an unfinished character as U+FFFD).
  std::string Finish();

 private:
  const Decoder& decoder_;
  bool skip_special_;
  bool emitted_token_ = false;  // a token has contributed bytes (for space joining)
  size_t strip_remaining_;      // leading spaces still to drop, until a non-space byte
  std::string pending_;         // an incomplete UTF-8 sequence (at most 3 bytes)
};

}  // namespace ts::text
