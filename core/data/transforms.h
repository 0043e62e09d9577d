// Image transforms that build task streams for continual learning (METHOD.md section 9):
// rotated MNIST and permuted MNIST. Both work on whole float batches N x C x H x W.
#pragma once

#include <ATen/core/Tensor.h>

namespace rebasin::data {

enum class Interpolation { Bilinear, Nearest };

// Rotates every image by `degrees` counter-clockwise about its centre, keeping the size; pixels
// that come from outside the image are 0. Same sampling grid as torchvision's
// transforms.functional.rotate on tensors (note its default interpolation is Nearest).
at::Tensor rotate(const at::Tensor& images, double degrees,
                  Interpolation interpolation = Interpolation::Bilinear);

// Output pixel k of every image/channel is input pixel perm[k] (row-major over H x W);
// perm is an int64 permutation of H * W.
at::Tensor permute_pixels(const at::Tensor& images, const at::Tensor& perm);

// Images N x c x h x w brought to N x C x H x W for a model traced at another shape (a
// torchvision model given MNIST): resized bilinearly (half-pixel centres, as
// torchvision.transforms.Resize on tensors without antialiasing) and, from one channel,
// replicated to C (grey to RGB). Throws UserError for inputs that are not images, for channel
// counts other than 1 -> C or C -> C, and for sizes outside 1..4096.
at::Tensor resize_images(const at::Tensor& images, std::int64_t channels, std::int64_t height, std::int64_t width);

}  // namespace rebasin::data
