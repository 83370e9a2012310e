// The three task generators of the MICrONS study, exactly as spec §3, Philox-keyed by
// (seed, stream) so that training and test sets never share draws.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::microns {

enum class Task { maze = 1, go_nogo = 2, pdm = 3 };

struct TaskShape {
  int T, n_in, n_out;
};
TaskShape task_shape(Task t);
const char* task_name(Task t);  // "maze", "go_nogo", "pdm"
// Parse "1"/"maze", "2"/"go_nogo"/"gonogo", "3"/"pdm"; throws rsnn::Error otherwise.
Task parse_task(const std::string& s);

struct TaskData {
  int n = 0, T = 0, n_in = 0, n_out = 0;
  std::vector<float> x;       // [n, T, n_in]
  std::vector<int> label;     // [n] class index
  std::vector<float> onehot;  // [n, n_out]
};

// n trials of task t; trial k uses only draws keyed by (seed, stream, k).
TaskData make_task(Task t, int n, uint64_t seed, uint64_t stream);

}  // namespace rsnn::microns
