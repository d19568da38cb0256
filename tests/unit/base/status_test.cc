#include "base/status.h"

#include <gtest/gtest.h>

namespace ts {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgument("not positive: " + std::to_string(x));
  return x;
}

Result<int> Doubled(int x) {
  ASSIGN_OR_RETURN(int v, ParsePositive(x));
  return 2 * v;
}

Status CheckBoth(int a, int b) {
  RETURN_IF_ERROR(ParsePositive(a).status());
  RETURN_IF_ERROR(ParsePositive(b).status());
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = NotFound("x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: x");
  EXPECT_EQ(s.WithContext("loading").message(), "loading: x");
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, 0).message(), "not positive: 0");
}

TEST(StatusDeathTest, ValueOfErrorDies) {
  Result<int> bad = InvalidArgument("boom");
  EXPECT_DEATH((void)bad.value(), "boom");
}

TEST(CheckDeathTest, ReportsCondition) { EXPECT_DEATH(CHECK_EQ(1, 2) << "ctx", "CHECK failed.*1 vs 2.*ctx"); }

}  // namespace
}  // namespace ts
