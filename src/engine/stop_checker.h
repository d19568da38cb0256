// StopChecker: finds stop strings in streamed text and holds back what might still become one.
//
// Text is fed piece by piece (each piece valid UTF-8). Feed returns the part that is safe to
// show: everything except a tail that is a prefix of some stop string. When a stop string
// appears, Feed returns the text before it, and the stop string and all after it are dropped.
// So streamed text never contains a piece of a stop string that later matches, and the pieces
// concatenated equal the non-streamed output. Held-back text always starts at a character
// boundary (stop strings are valid UTF-8, so a prefix of one never starts mid-character).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ts {

class StopChecker {
 public:
  explicit StopChecker(std::vector<std::string> stops);

  // Returns text safe to emit; *matched becomes true when a stop string was found.
  std::string Feed(std::string_view text, bool* matched);
  // The held-back tail, for a sequence that ends without a stop string.
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  size_t max_stop_bytes_ = 0;
  std::string held_;
};

}  // namespace ts
