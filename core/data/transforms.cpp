// Rotation by grid sampling (torchvision's grid, so rotated MNIST matches the reference) and
// pixel permutation by index_select.
#include "data/transforms.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "ot/permutation.h"

namespace rebasin::data {

namespace {

void check_images(const at::Tensor& images, const char* what) {
  require(images.defined() && images.dim() == 4,
          std::string(what) + ": expected images N x C x H x W");
  require(at::isFloatingType(images.scalar_type()),
          std::string(what) + ": expected floating-point images");
}

}  // namespace

at::Tensor rotate(const at::Tensor& images, double degrees, Interpolation interpolation) {
  check_images(images, "rotate");
  require(std::isfinite(degrees), "rotate: angle must be finite");
  // Whole turns: resampling would only add float rounding (~1e-6) to an exact identity.
  if (std::fmod(degrees, 360.0) == 0.0) return images.clone();
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  // torchvision: output pixel centre (x, y) relative to the image centre (y down) samples the
  // input at R (x, y) with R = [cos a, -sin a; sin a, cos a]; grid_sample's normalised
  // coordinates (align_corners = false) divide by half the size.
  const double a = degrees * M_PI / 180.0, c = std::cos(a), s = std::sin(a);
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor x = at::arange(w, opts) - 0.5 * (w - 1);  // pixel centres
  const at::Tensor y = (at::arange(h, opts) - 0.5 * (h - 1)).unsqueeze(1);
  const at::Tensor gx = (c * x - s * y) / (0.5 * w);  // h x w by broadcasting
  const at::Tensor gy = (s * x + c * y) / (0.5 * h);
  const at::Tensor grid = at::stack({gx, gy}, -1)
                              .to(images.scalar_type())
                              .unsqueeze(0)
                              .expand({n, h, w, 2})
                              .to(images.device());
  const int64_t mode = interpolation == Interpolation::Bilinear ? 0 : 1;
  return at::grid_sampler(images, grid, mode, /*padding zeros*/ 0, /*align_corners*/ false);
}

at::Tensor permute_pixels(const at::Tensor& images, const at::Tensor& perm) {
  check_images(images, "permute_pixels");
  const int64_t h = images.size(2), w = images.size(3);
  ot::check_permutation(perm, h * w);
  const at::Tensor flat = images.reshape({images.size(0), images.size(1), h * w});
  return flat.index_select(2, perm.to(images.device())).reshape(images.sizes());
}

at::Tensor resize_images(const at::Tensor& images, std::int64_t channels, std::int64_t height, std::int64_t width) {
  require(images.dim() == 4, "--input: the data set's inputs are not images (N x C x H x W)");
  for (std::int64_t v : {channels, height, width})
    require(v >= 1 && v <= 4096, "--input: C, H and W must be between 1 and 4096");
  const std::int64_t c = images.size(1);
  require(c == channels || c == 1,
          "--input: cannot make " + std::to_string(channels) + " channels from images of " + std::to_string(c) +
              " (only 1 -> C replicates)");
  // Whole splits are held in memory: 60000 MNIST images at 3 x 224 x 224 would be 36 GB.
  const double gib = double(images.size(0)) * double(channels * height * width) * 4.0 / double(1LL << 30);
  require(gib <= 4.0, "--input: " + std::to_string(images.size(0)) + " images of " + std::to_string(channels) + "x" +
                          std::to_string(height) + "x" + std::to_string(width) + " would take " +
                          std::to_string(int(std::ceil(gib))) + " GB of memory (at most 4 GB); give a smaller --input");
  at::Tensor out = images;
  if (images.size(2) != height || images.size(3) != width)
    out = at::upsample_bilinear2d(out, {height, width}, /*align_corners=*/false);
  if (c != channels) out = out.expand({out.size(0), channels, height, width});
  return out.contiguous();
}

}  // namespace rebasin::data
