#include "core/status.h"

#include <gtest/gtest.h>

namespace estelik {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("must be positive");
  return v;
}

Status UsesAssignOrReturn(int v, int* out) {
  ESTELIK_ASSIGN_OR_RETURN(*out, ParsePositive(v));
  return Status::Ok();
}

TEST(StatusTest, ErrorCarriesCodeAndMessageForTheUser) {
  Status s = Corrupt("vault is corrupt or tampered: store.db page 412");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_EQ(s.ToString(), "corrupt: vault is corrupt or tampered: store.db page 412");
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  int out = 0;
  EXPECT_TRUE(UsesAssignOrReturn(7, &out).ok());
  EXPECT_EQ(out, 7);
  Status s = UsesAssignOrReturn(-1, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(out, 7);
}

}  // namespace
}  // namespace estelik
