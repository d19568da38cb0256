// Logging to stderr: LOG(INFO) << "loaded " << n << " tensors";
// One line per message with a UTC timestamp and level; safe from any thread.
#pragma once

#include <sstream>

namespace ts {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this level are dropped. Set once at start-up (before threads start).
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace internal
}  // namespace ts

#define TS_LOG_LEVEL_DEBUG ::ts::LogLevel::kDebug
#define TS_LOG_LEVEL_INFO ::ts::LogLevel::kInfo
#define TS_LOG_LEVEL_WARNING ::ts::LogLevel::kWarning
#define TS_LOG_LEVEL_ERROR ::ts::LogLevel::kError

#define LOG(level)                                               \
  if (TS_LOG_LEVEL_##level < ::ts::MinLogLevel()) {              \
  } else                                                         \
    ::ts::internal::LogMessage(TS_LOG_LEVEL_##level, __FILE__, __LINE__).stream()
