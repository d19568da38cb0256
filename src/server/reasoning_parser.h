// ReasoningParser: splits a thinking model's output into reasoning and answer, incrementally.
//
// Qwen3 writes "<think>\n...reasoning...\n</think>\n\nanswer". Output that starts with the open
// tag (after optional whitespace) is reasoning until the close tag; everything after it is the
// answer (the blank line after the tag dropped). Output that does not start with the tag is all
// answer. When the template already opened the block (the prompt ends with "<think>\n"),
// construct with `starts_in_reasoning` so output is reasoning until the close tag.
//
// Text arrives in arbitrary pieces (a tag may be split across them); Push returns what can be
// attributed so far and holds back only a possible partial tag. One parser per choice; not
// thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ts::server {

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
};

class ReasoningParser {
 public:
  ReasoningParser(std::string open_tag, std::string close_tag, bool starts_in_reasoning);

  ReasoningDelta Push(std::string_view text);
  ReasoningDelta Finish();  // flushes what was held back

 private:
  enum class State { kStart, kReasoning, kAfterClose, kContent };

  const std::string open_tag_;
  const std::string close_tag_;
  State state_;
  std::string pending_;  // text not yet attributed
};

}  // namespace ts::server
