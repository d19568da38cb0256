// CHECK: a broken invariant stops the program with the condition, place and message.
// Expected failures (user input, files, resources) are Status values instead (status.h).
#pragma once

#include <sstream>

namespace ts::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << "msg"` compile to a void expression in the ternary below.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace ts::internal

#define CHECK(condition)                \
  (condition) ? (void)0                 \
              : ::ts::internal::Voidify() & \
                    ::ts::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define CHECK_OP(a, op, b) CHECK((a)op(b)) << "(" << (a) << " vs " << (b) << ") "
#define CHECK_EQ(a, b) CHECK_OP(a, ==, b)
#define CHECK_NE(a, b) CHECK_OP(a, !=, b)
#define CHECK_LT(a, b) CHECK_OP(a, <, b)
#define CHECK_LE(a, b) CHECK_OP(a, <=, b)
#define CHECK_GT(a, b) CHECK_OP(a, >, b)
#define CHECK_GE(a, b) CHECK_OP(a, >=, b)

#ifdef NDEBUG
#define DCHECK(condition) \
  while (false) CHECK(condition)
#else
#define DCHECK(condition) CHECK(condition)
#endif
