// Staging of tensors for the GPU passes (staging.h).
#include "cuda/staging.h"

#include <ATen/ATen.h>

#include <cstring>

namespace rebasin::cuda {

Staging::Staging(bool reference, const at::Tensor& like)
    : mode_(reference ? Mode::Host : (like.is_cuda() ? Mode::TorchCuda : Mode::Offload)),
      device_(reference ? at::Device(at::kCPU) : like.device()) {
  if (mode_ == Mode::TorchCuda) set_device(like.device().index() < 0 ? 0 : like.device().index());
  if (mode_ == Mode::Offload) set_device(0);
}

void* Staging::input(const at::Tensor& t, at::ScalarType dtype) {
  at::Tensor c = t.detach().to(mode_ == Mode::Host ? at::Device(at::kCPU) : device_, dtype).contiguous();
  keep_.push_back(c);
  if (mode_ != Mode::Offload) return c.data_ptr();
  buffers_.emplace_back(c.nbytes());
  copy_to_device(buffers_.back().get(), c.data_ptr(), c.nbytes());
  return buffers_.back().get();
}

void* Staging::scratch(std::size_t bytes) {
  if (mode_ == Mode::Offload) {
    buffers_.emplace_back(bytes);
    return buffers_.back().get();
  }
  // Through the tensor allocator: CUDA LibTorch's caching allocator reuses these blocks.
  at::Tensor t = at::empty({static_cast<std::int64_t>(std::max<std::size_t>(bytes, 1))},
                           at::TensorOptions().dtype(at::kByte).device(device_));
  keep_.push_back(t);
  return t.data_ptr();
}

void* Staging::output(at::Tensor& result, at::IntArrayRef sizes, at::ScalarType dtype) {
  result = at::empty(sizes, at::TensorOptions().dtype(dtype).device(device_));
  if (mode_ != Mode::Offload) return result.data_ptr();
  buffers_.emplace_back(result.nbytes());
  pending_.push_back({result, buffers_.back().get()});
  return buffers_.back().get();
}

void Staging::upload(void* dst, const void* src, std::size_t bytes) const {
  if (mode_ == Mode::Host)
    std::memcpy(dst, src, bytes);
  else
    copy_to_device(dst, src, bytes);
}

void Staging::download(void* dst, const void* src, std::size_t bytes) const {
  if (mode_ == Mode::Host)
    std::memcpy(dst, src, bytes);
  else
    copy_to_host(dst, src, bytes);
}

void Staging::collect() {
  if (mode_ == Mode::Host) return;
  synchronize();
  for (const Pending& p : pending_) copy_to_host(p.tensor.data_ptr(), p.src, p.tensor.nbytes());
  pending_.clear();
}

}  // namespace rebasin::cuda
