#include "app/bench/sse_stream.h"

#include <nlohmann/json.hpp>

namespace ts::loadgen {

void SseParser::Feed(std::string_view bytes, const EventFn& on_event) {
  size_t begin = 0;
  while (true) {
    const size_t end = bytes.find('\n', begin);
    if (end == std::string_view::npos) break;
    std::string_view piece = bytes.substr(begin, end - begin);
    if (partial_line_.empty()) {
      ProcessLine(piece, on_event);
    } else {
      partial_line_.append(piece);
      const std::string line = std::move(partial_line_);
      partial_line_.clear();
      ProcessLine(line, on_event);
    }
    begin = end + 1;
  }
  partial_line_.append(bytes.substr(begin));
}

void SseParser::ProcessLine(std::string_view line, const EventFn& on_event) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    if (has_data_) on_event(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  if (field != "data") return;
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

namespace {

bool HasText(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

int64_t IntOr(const nlohmann::json& object, const char* key, int64_t fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace

void StreamTimer::OnEvent(std::string_view data, double now_s) {
  if (!result_.error.empty() || done_) return;
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  const nlohmann::json chunk = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    result_.error = "unparsable chunk: " + std::string(data.substr(0, 200));
    return;
  }
  if (const auto error = chunk.find("error"); error != chunk.end()) {
    result_.error = "server error: " + error->dump();
    return;
  }
  bool has_content = false;
  if (const auto choices = chunk.find("choices"); choices != chunk.end() && choices->is_array()) {
    for (const nlohmann::json& choice : *choices) {
      if (!choice.is_object()) continue;
      if (HasText(choice, "text")) has_content = true;
      if (const auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
        if (HasText(*delta, "content") || HasText(*delta, "reasoning_content")) has_content = true;
      }
    }
  }
  if (has_content) {
    if (num_content_chunks_ == 0) {
      result_.ttft_s = now_s;
    } else {
      result_.itl_s.push_back(now_s - last_arrival_s_);
    }
    last_arrival_s_ = now_s;
    ++num_content_chunks_;
  }
  if (const auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    has_usage_ = true;
    result_.prompt_tokens = IntOr(*usage, "prompt_tokens", 0);
    result_.completion_tokens = IntOr(*usage, "completion_tokens", 0);
    if (const auto details = usage->find("prompt_tokens_details");
        details != usage->end() && details->is_object()) {
      result_.cached_tokens = IntOr(*details, "cached_tokens", 0);
      result_.cached_tokens_ram = IntOr(*details, "cached_tokens_ram", 0);
      result_.cached_tokens_ssd = IntOr(*details, "cached_tokens_ssd", 0);
    }
  }
}

RequestResult StreamTimer::Finish(double end_s) const {
  RequestResult r = result_;
  r.e2e_s = end_s;
  if (!has_usage_) r.completion_tokens = num_content_chunks_;
  if (!r.error.empty()) return r;
  if (!done_) {
    r.error = "the stream ended without [DONE]";
  } else if (num_content_chunks_ == 0) {
    r.error = "no content arrived";
  } else {
    r.ok = true;
  }
  return r;
}

}  // namespace ts::loadgen
