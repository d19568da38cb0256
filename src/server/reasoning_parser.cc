#include "server/reasoning_parser.h"

#include <algorithm>

namespace ts::server {
namespace {

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t PartialTagSuffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(std::string open_tag, std::string close_tag,
                                 bool starts_in_reasoning)
    : open_tag_(std::move(open_tag)),
      close_tag_(std::move(close_tag)),
      state_(starts_in_reasoning ? State::kReasoning : State::kStart) {}

ReasoningDelta ReasoningParser::Push(std::string_view text) {
  pending_.append(text);
  ReasoningDelta out;
  for (;;) {
    switch (state_) {
      case State::kStart: {
        const size_t first = pending_.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return out;  // only whitespace so far
        std::string_view rest = std::string_view(pending_).substr(first);
        if (rest.size() < open_tag_.size() && open_tag_.starts_with(rest)) return out;
        if (rest.starts_with(open_tag_)) {
          pending_.erase(0, first + open_tag_.size());
          state_ = State::kReasoning;
        } else {
          state_ = State::kContent;
        }
        break;
      }
      case State::kReasoning: {
        const size_t close = pending_.find(close_tag_);
        if (close == std::string::npos) {
          const size_t keep = PartialTagSuffix(pending_, close_tag_);
          out.reasoning.append(pending_, 0, pending_.size() - keep);
          pending_.erase(0, pending_.size() - keep);
          return out;
        }
        out.reasoning.append(pending_, 0, close);
        pending_.erase(0, close + close_tag_.size());
        state_ = State::kAfterClose;
        break;
      }
      case State::kAfterClose: {
        // The template separates the answer with a blank line; it is not part of the answer.
        const size_t first = pending_.find_first_not_of('\n');
        if (first == std::string::npos) {
          pending_.clear();
          return out;
        }
        pending_.erase(0, first);
        state_ = State::kContent;
        break;
      }
      case State::kContent:
        out.content.append(pending_);
        pending_.clear();
        return out;
    }
  }
}

ReasoningDelta ReasoningParser::Finish() {
  ReasoningDelta out;
  if (state_ == State::kReasoning) {
    out.reasoning = std::move(pending_);
  } else if (state_ != State::kAfterClose) {
    out.content = std::move(pending_);
  }
  pending_.clear();
  return out;
}

}  // namespace ts::server
