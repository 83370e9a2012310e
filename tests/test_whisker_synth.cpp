// The synthetic whisker-sweep generator: layout, labels, determinism, physics sanity and
// class separability.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "models/barrel/whisker_synth.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {
// One small data set shared by the tests (generation is the slow part).
const WhiskerData& small_set() {
  static const WhiskerData d = synthesize_whisker_data(24, 7, kTrainStream);
  return d;
}
}  // namespace

TEST(WhiskerArray, ThirtyOneWhiskersInTheRatLayout) {
  const auto& w = whisker_array();
  ASSERT_EQ(w.size(), 31u);
  EXPECT_EQ(w[0].name, "A0");
  EXPECT_EQ(w[4].name, "A4");
  EXPECT_EQ(w[5].name, "B0");
  EXPECT_EQ(w[30].name, "E6");
  std::set<std::string> names;
  for (const auto& x : w) {
    names.insert(x.name);
    EXPECT_GT(x.length, 3.0) << x.name;
    EXPECT_LT(x.length, 55.0) << x.name;
    EXPECT_NEAR(geom::norm(x.dir), 1.0, 1e-12);
    EXPECT_NEAR(geom::norm(x.bend), 1.0, 1e-12);
    EXPECT_NEAR(geom::dot(x.dir, x.bend), 0.0, 1e-12);
    EXPECT_GT(x.dir.x, 0.0) << x.name << " must point away from the face (lateral)";
  }
  EXPECT_EQ(names.size(), 31u);
  // Within a row, lengths decrease rostrally and base points move rostrally (+y).
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i].row != w[i - 1].row) continue;
    EXPECT_LT(w[i].length, w[i - 1].length) << w[i].name;
    EXPECT_GT(w[i].base.y, w[i - 1].base.y) << w[i].name;
  }
  // Dorsal rows sit above ventral rows.
  EXPECT_GT(w[2].base.z, w[27].base.z);
}

TEST(WhiskerSynth, ShapeLabelsAndSummary) {
  const WhiskerData& d = small_set();
  validate(d, "synthetic");
  EXPECT_EQ(d.force.shape(), whisker_data_shape(24));
  const auto counts = class_counts(d);
  EXPECT_EQ(counts[0], 8);
  EXPECT_EQ(counts[1], 8);
  EXPECT_EQ(counts[2], 8);
  const WhiskerSummary s = summarize(d);
  for (int c = 0; c < 3; ++c) {
    std::printf("class %s: mean |F| %.3g, mean |tau| %.3g, frames with contact %.3f, whisker-frames %.4f\n",
                class_name(c), s.mean_force[c], s.mean_torque[c], s.contact_frames[c],
                s.contact_whiskers[c]);
  }
  EXPECT_GT(s.contact_frames_all, 0.1);
  EXPECT_LT(s.contact_frames_all, 0.9);
}
