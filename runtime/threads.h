// CPU thread count for rsnn's OpenMP loops and for OpenBLAS.
#pragma once

namespace rsnn {
// n <= 0 selects the number of cores. Also sets OpenBLAS's thread count.
void set_num_threads(int n);
int num_threads();
int hardware_threads();
}  // namespace rsnn
