// Intra-op thread count for LibTorch and our own kernels. LibTorch starts with 1 thread on small
// VMs, which halves throughput on the 2-core machines we run on, so front ends call this once.
#pragma once

namespace rebasin {

// n <= 0 means "all hardware threads".
void configure_threads(int n);
int thread_count();

}  // namespace rebasin
