// Linear mode connectivity (METHOD.md section 7): the loss and accuracy along the straight line
// theta(l) = (1-l) theta_A + l pi(theta_B), its loss barrier and area, BatchNorm statistics
// recomputed for interpolated networks, and the loss landscape over the plane through theta_A,
// theta_B and pi(theta_B) (Git Re-Basin's contour figure).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "nn/architecture.h"

namespace rebasin::eval {

// (1 - lambda) a + lambda b for every floating tensor (running statistics included); integer
// buffers (num_batches_tracked) are copied from a. UserError naming the first tensor whose name
// or shape differs.
NamedTensors interpolate(const NamedTensors& a, const NamedTensors& b, double lambda);

// Recomputes BatchNorm running statistics on training data, as PyTorch's momentum=None
// ("cumulative average") reset that the peers use: running_mean/var become the mean over
// batches of each batch's mean and unbiased variance. Up to `samples` training samples (a
// seeded shuffle) in batches of `batch_size`; each batch is weighted by its size. The returned
// set shares every tensor with `params` except the BatchNorm buffers, which are new (the
// caller's tensors are never written). Returns params unchanged when the architecture has no
// BatchNorm.
NamedTensors reset_batchnorm(const nn::Architecture& arch, NamedTensors params,
                             const data::Dataset& train, std::int64_t samples = 2000,
                             std::uint64_t seed = 0, std::int64_t batch_size = 250);

// One loss/accuracy curve on one data split.
struct Curve {
  std::vector<double> lambdas, loss, accuracy;  // accuracy: NaN for regression
  // max_l [L(l) - ((1-l) L(0) + l L(1))]; >= 0 since the endpoints are on the grid.
  double barrier = 0.0;
  // Trapezoid integral over [0, 1] of L(l) minus the straight line; negative when the path is
  // better than the line on average.
  double area = 0.0;
};

// The curve along theta(l) = (1-l) a + l b_aligned for `points` (>= 2) lambdas evenly spaced
// on [0, 1]. With bn_train_set, BatchNorm statistics are recomputed at EVERY point, endpoints
// included (reset_batchnorm with its defaults), so all points are measured the same way;
// nullptr keeps the interpolated statistics. The data sets may live on any device; batches go
// to the parameters' device. Per point: a CurvePoint {curve_name, split} then a ProgressEvent
// (stage "interpolate"); the cancel token is checked before each point (throws Cancelled).
// `split` only labels the events ("test" or "train": which split eval_set is); `seed` picks the
// BatchNorm reset's training samples (the same ones at every point).
Curve interpolation_curve(const nn::Architecture& arch, const NamedTensors& a,
                          const NamedTensors& b_aligned, const data::Dataset& eval_set,
                          const data::Dataset* bn_train_set = nullptr, int points = 25,
                          EventSink* sink = nullptr, const std::string& curve_name = "",
                          const CancelToken* cancel = nullptr, const std::string& split = "test",
                          std::uint64_t seed = 0);

// The same loop for any path: the model at each lambda is what `model_at` builds (REPAIR's
// curve, eval/repair.h). Events and cancellation as interpolation_curve.
using PathModel = std::function<NamedTensors(double lambda)>;
Curve path_curve(const nn::Architecture& arch, const PathModel& model_at, const data::Dataset& eval_set,
                 int points = 25, EventSink* sink = nullptr, const std::string& curve_name = "",
                 const CancelToken* cancel = nullptr, const std::string& split = "test");

// Barrier and area of a sampled curve (lambdas ascending from 0 to 1), filled into `curve`.
void curve_statistics(Curve& curve);

struct Landscape {
  int grid = 0;
  std::vector<double> xs, ys;                          // plane coordinates of columns / rows
  std::vector<std::vector<double>> loss, accuracy;     // [row][col]; row i is ys[i]
  std::array<std::pair<double, double>, 3> points{};   // (x, y) of A, B, pi(B)
};

// Orthonormal basis of the plane through three parameter sets, over all floating tensors
// flattened (float64): e1 along b - a, e2 along the part of c - a orthogonal to it. Grid point
// (x, y) is theta = a + x e1 + y e2, so a = (0, 0) and b = (|b - a|, 0).
class ParameterPlane {
 public:
  // UserError when the layouts differ or the three points are (nearly) collinear.
  ParameterPlane(const NamedTensors& a, const NamedTensors& b, const NamedTensors& c);
  std::array<std::pair<double, double>, 3> points() const { return points_; }
  // The parameter set at (x, y): floating tensors are views of one new flat buffer in a's
  // dtype and device; integer buffers are a's.
  NamedTensors params_at(double x, double y) const;

 private:
  NamedTensors a_;
  at::Tensor origin_, e1_, e2_;  // flat, float64
  std::array<std::pair<double, double>, 3> points_{};
};

// Loss and accuracy on a grid x grid (3..201) lattice over the plane through a, b and
// b_aligned, spanning the three points' bounding box padded by 20% of its size on each side.
// With bn_train_set, BatchNorm statistics are recomputed at every grid point: one extra forward
// pass over up to 2000 training samples per point (about a fifth more time against a 10000-sample
// test set, several times more against a small one); nullptr keeps the plane's statistics, which
// are part of the plane (running statistics are floating tensors, flattened with the weights). Per row: a LandscapeRow then a ProgressEvent (stage
// "landscape"); the cancel token is checked before each row.
Landscape loss_landscape(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                         const NamedTensors& b_aligned, const data::Dataset& eval_set,
                         const data::Dataset* bn_train_set = nullptr, int grid = 21,
                         EventSink* sink = nullptr, const CancelToken* cancel = nullptr,
                         std::uint64_t seed = 0);

}  // namespace rebasin::eval
