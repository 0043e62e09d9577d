// Process-wide runtime settings. Intra-op thread count for LibTorch and our own kernels. LibTorch starts with 1 thread on small
// VMs, which halves throughput on the 2-core machines we run on, so front ends call this once.
#pragma once

namespace rebasin {

// n <= 0 means "all hardware threads".
void configure_threads(int n);
int thread_count();

// Keeps freed heap memory for reuse instead of returning it to the OS after every large
// tensor: each fresh 16 MB plan otherwise costs ~4 ms of page faults at n = 2048 (measured),
// a quarter of a whole Sinkhorn forward. glibc only; a no-op elsewhere.
void configure_allocator();

}  // namespace rebasin
