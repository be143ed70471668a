#include <gtest/gtest.h>

#include "ctl/config.h"

namespace {

using V = std::vector<unsigned>;

TEST(Lcores, Forms) {
  EXPECT_EQ(ctl::parse_lcores("0-3"), (V{0, 1, 2, 3}));
  EXPECT_EQ(ctl::parse_lcores("0,2,4"), (V{0, 2, 4}));
  EXPECT_EQ(ctl::parse_lcores("0@0,1@1,2@1"), (V{0, 1, 2}));
  EXPECT_EQ(ctl::parse_lcores("(0,1)@0,5"), (V{0, 1, 5}));
  EXPECT_EQ(ctl::parse_lcores("(0-2)@(0,1)"), (V{0, 1, 2}));
  EXPECT_EQ(ctl::parse_lcores("3,1,3"), (V{1, 3}));
}

TEST(Lcores, Rejects) {
  for (const char* bad : {"", "a", "3-1", "(0,1", "0)", "1-", "99999"})
    EXPECT_THROW(ctl::parse_lcores(bad), std::invalid_argument) << bad;
}

}  // namespace
