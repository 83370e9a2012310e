#include <gtest/gtest.h>
#include <algorithm>

#include <sstream>

#include "runtime/progress.h"

using namespace rsnn;

TEST(Progress, LineShowsCountRateValuesAndEta) {
  std::ostringstream out;
  ProgressBar bar("train", 100, "batch", &out);
  const std::string l = bar.line(25, {{"loss", 0.5}, {"acc", 0.75}}, 10.0);
  EXPECT_NE(l.find("25/100"), std::string::npos) << l;
  EXPECT_NE(l.find("2.5 batch/s"), std::string::npos) << l;
  EXPECT_NE(l.find("loss 0.5"), std::string::npos) << l;
  EXPECT_NE(l.find("acc 0.75"), std::string::npos) << l;
  EXPECT_NE(l.find("ETA 30.0s"), std::string::npos) << l;
}

TEST(Progress, NonTerminalOutputIsRateLimitedAndFinishes) {
  std::ostringstream out;
  ProgressBar bar("eval", 10, "trial", &out, 3600.0);
  bar.update(1);  // first update prints
  bar.update(2);  // suppressed by the interval
  bar.update(10); // the last step always prints
  bar.finish({{"acc", 1.0}});
  std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 3) << s;
  EXPECT_NE(s.find("acc 1"), std::string::npos);
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}
