#include "engine/stop_checker.h"

#include <algorithm>
#include <utility>

namespace ts {

StopChecker::StopChecker(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (s.empty()) continue;
    max_stop_bytes_ = std::max(max_stop_bytes_, s.size());
    stops_.push_back(std::move(s));
  }
}

std::string StopChecker::Feed(std::string_view text, bool* matched) {
  *matched = false;
  if (stops_.empty()) return std::string(text);
  held_.append(text);
  // The earliest stop string wins; only text that could contain a new match is searched
  // (the held tail is shorter than the longest stop string, plus the new text).
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    *matched = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t keep = 0;
  const size_t limit = std::min(held_.size(), max_stop_bytes_ - 1);
  for (size_t len = limit; len > 0 && keep == 0; --len) {
    std::string_view tail(held_.data() + held_.size() - len, len);
    for (const auto& s : stops_) {
      if (s.size() > len && std::string_view(s).substr(0, len) == tail) {
        keep = len;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopChecker::Flush() { return std::exchange(held_, std::string()); }

}  // namespace ts
