#include "common/runtime.h"

#include <ATen/Parallel.h>

#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rebasin {

void configure_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

int thread_count() { return at::get_num_threads(); }

void configure_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum: tensors up to 32 MB come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace rebasin
