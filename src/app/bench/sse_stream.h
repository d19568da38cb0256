// Reading an OpenAI streaming response as it arrives: SseParser cuts text/event-stream bytes
// (delivered in arbitrary pieces by the socket) into events; StreamTimer turns the events of one
// completion into a RequestResult with a timestamp per content-carrying chunk. Neither touches a
// socket or a clock: the caller passes each piece with its arrival time, so tests replay streams.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "app/bench/stats.h"

namespace ts::loadgen {

// The subset of the SSE format servers send: `data:` lines (several join with '\n'), comment lines
// starting with ':', other fields ignored, an empty line ends an event; lines end in "\n" or
// "\r\n".
class SseParser {
 public:
  using EventFn = std::function<void(std::string_view data)>;

  // Consumes bytes; calls on_event once per event that they complete, in order.
  void Feed(std::string_view bytes, const EventFn& on_event);

 private:
  void ProcessLine(std::string_view line, const EventFn& on_event);

  std::string partial_line_;  // bytes after the last line end seen
  std::string data_;          // the current event's data so far
  bool has_data_ = false;
};

// Accumulates one streamed completion (/v1/completions or /v1/chat/completions chunks).
class StreamTimer {
 public:
  // `data` is one event's payload; now_s is its arrival, in seconds since the request was sent.
  // A chunk whose text (completions), delta content or reasoning content (chat) is not empty counts
  // as a token arrival. A chunk with `usage` sets the token counts; `[DONE]` ends the stream; an
  // `error` object or unparsable JSON fails the request.
  void OnEvent(std::string_view data, double now_s);

  bool done() const { return done_; }

  // The request's result once its response ended at end_s. Fails it when an error was seen, no
  // [DONE] arrived or no content did.
  RequestResult Finish(double end_s) const;

 private:
  RequestResult result_;
  double last_arrival_s_ = -1;
  int64_t num_content_chunks_ = 0;
  bool has_usage_ = false;
  bool done_ = false;
};

}  // namespace ts::loadgen
