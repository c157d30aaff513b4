// EndedHistory: which ended rows a table keeps, newest kept, oldest forgotten first, also when
// restored from storage in any order.
#include "src/gcs/ended_history.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::gcs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(EndedHistoryTest, KeepsTheLastOnesAndReturnsTheOnesThatFallOut) {
  EndedHistory<int> history(2);
  EXPECT_THAT(history.Add(1), IsEmpty());
  EXPECT_THAT(history.Add(2), IsEmpty());
  EXPECT_THAT(history.Add(3), ElementsAre(1));
  EXPECT_THAT(history.Add(4), ElementsAre(2));
  EXPECT_EQ(history.size(), 2u);
}

TEST(EndedHistoryTest, RestoredRowsAreOrderedByWhenTheyEnded) {
  EndedHistory<int> history(2);
  // Storage hands rows back in no particular order.
  EXPECT_THAT(history.Restore({{300, 3}, {100, 1}, {400, 4}, {200, 2}}), ElementsAre(1, 2));
  EXPECT_THAT(history.Add(5), ElementsAre(3));
}

}  // namespace
}  // namespace orrery::gcs
