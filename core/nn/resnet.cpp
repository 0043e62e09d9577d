// ResNets with BasicBlocks (names as in the common PyTorch CIFAR code: conv1, bn1, layerS.B.*,
// linear). resnet20xK: CIFAR ResNet-20 (3 stages x 3 blocks, widths 16K/32K/64K), BatchNorm or
// LayerNorm (":ln"); resnet18: 4 stages x 2 blocks, widths 64..512.
// Permutation groups: every layer writing into the same residual stream shares ONE group (the
// stem and, per stage, the shortcut projection and each block's last conv); each block's inner
// conv has its own group. This is the part peers most often get wrong, hence the tests.
#include <ATen/ATen.h>

#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"

namespace rebasin::nn {
namespace {

class ResNet : public Architecture {
 public:
  ResNet(std::string name, const ModelIO& io, std::vector<std::int64_t> widths,
         std::vector<int> blocks, bool layernorm)
      : Architecture(std::move(name), io), widths_(std::move(widths)), blocks_(std::move(blocks)),
        ln_(layernorm) {
    require(io.input_shape.size() == 3, "architecture '" + name_ + "' needs image inputs (C x H x W)");
    const std::int64_t c0 = widths_[0];
    int stream = spec_.add_group("stream0", c0);
    add_conv(spec_, "conv1", io.input_shape[0], c0, 3, -1, stream, false);
    add_norm(norm_name("", 1), c0, stream);
    std::int64_t cin = c0;
    for (std::size_t s = 0; s < widths_.size(); ++s) {
      const std::int64_t cout = widths_[s];
      for (int b = 0; b < blocks_[s]; ++b) {
        const std::string pre = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
        const bool project = b == 0 && (s > 0 || cin != cout);
        const int in_stream = stream;
        if (project) stream = spec_.add_group("stream" + std::to_string(s + 1), cout);
        const int inner = spec_.add_group(pre + ".conv1", cout);
        add_conv(spec_, pre + ".conv1", cin, cout, 3, in_stream, inner, false);
        add_norm(norm_name(pre + ".", 1), cout, inner);
        add_conv(spec_, pre + ".conv2", cout, cout, 3, inner, stream, false);
        add_norm(norm_name(pre + ".", 2), cout, stream);
        if (project) {
          add_conv(spec_, pre + ".shortcut.0", cin, cout, 1, in_stream, stream, false);
          add_norm(pre + ".shortcut.1", cout, stream);
        }
        cin = cout;
      }
    }
    add_linear(spec_, "linear", cin, io.outputs, stream, -1);
    spec_.validate();
  }
  bool reports_units() const override { return true; }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const override {
    auto report = [&](const std::string& param, const at::Tensor& act) {
      if (hook) (*hook)(spec_.find(param)->group_of(0), act);
    };
    at::Tensor h = at::conv2d(x, p("conv1.weight"), at::Tensor(), {1, 1}, {1, 1});
    h = at::relu(norm(p, norm_name("", 1), h, train));
    report("conv1.weight", h);
    std::int64_t cin = widths_[0];
    for (std::size_t s = 0; s < widths_.size(); ++s) {
      const std::int64_t cout = widths_[s];
      for (int b = 0; b < blocks_[s]; ++b) {
        const std::string pre = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
        const bool project = b == 0 && (s > 0 || cin != cout);
        const std::int64_t stride = (b == 0 && s > 0) ? 2 : 1;
        at::Tensor m = at::conv2d(h, p(pre + ".conv1.weight"), at::Tensor(), {stride, stride}, {1, 1});
        m = at::relu(norm(p, norm_name(pre + ".", 1), m, train));
        report(pre + ".conv1.weight", m);
        m = at::conv2d(m, p(pre + ".conv2.weight"), at::Tensor(), {1, 1}, {1, 1});
        m = norm(p, norm_name(pre + ".", 2), m, train);
        at::Tensor shortcut = h;
        if (project) {
          shortcut = at::conv2d(h, p(pre + ".shortcut.0.weight"), at::Tensor(), at::IntArrayRef({stride, stride}), at::IntArrayRef({0, 0}));
          shortcut = norm(p, pre + ".shortcut.1", shortcut, train);
        }
        h = at::relu(m + shortcut);
        report(pre + ".conv2.weight", h);
        cin = cout;
      }
    }
    h = at::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
    return at::linear(h, p("linear.weight"), p("linear.bias"));
  }

 private:
  std::string norm_name(const std::string& pre, int k) const {
    return pre + (ln_ ? "ln" : "bn") + std::to_string(k);
  }
  void add_norm(const std::string& prefix, std::int64_t c, int group) {
    if (ln_) add_layernorm(spec_, prefix, c, group);
    else add_batchnorm(spec_, prefix, c, group);
  }
  // Every norm's output is a place where units leave an affine layer (the unit hook's points).
  at::Tensor norm(const Params& p, const std::string& prefix, const at::Tensor& x, bool train) const {
    const at::Tensor y = ln_ ? layernorm(p, prefix, x) : batchnorm(p, prefix, x, train);
    return p.units(prefix, spec_.find(prefix + ".weight")->group_of(0), y);
  }

  std::vector<std::int64_t> widths_;
  std::vector<int> blocks_;
  bool ln_;
};

}  // namespace

std::unique_ptr<Architecture> make_resnet(const std::string& arch, const ModelIO& io) {
  if (arch == "resnet18") return std::make_unique<ResNet>(arch, io, std::vector<std::int64_t>{64, 128, 256, 512}, std::vector<int>{2, 2, 2, 2}, false);
  std::string base = arch;
  bool ln = false;
  if (base.size() > 3 && base.compare(base.size() - 3, 3, ":ln") == 0) {
    ln = true;
    base = base.substr(0, base.size() - 3);
  }
  if (base.rfind("resnet20x", 0) == 0) {
    const auto parsed = parse_int(base.substr(9), 1, 64);
    require(parsed.has_value(), "architecture '" + arch + "': the width multiplier must be an integer 1..64");
    const std::int64_t k = *parsed;
    return std::make_unique<ResNet>(arch, io, std::vector<std::int64_t>{16 * k, 32 * k, 64 * k},
                                    std::vector<int>{3, 3, 3}, ln);
  }
  throw UserError("unknown architecture '" + arch + "' (ResNet: resnet20xK, resnet20xK:ln or resnet18)");
}

// The CIFAR resnet family (family_registry.h).
bool resnet_owns(const std::string& arch) { return arch.rfind("resnet", 0) == 0; }

// Input channels from the first conv, outputs from the last tensor, 32x32 images; the width
// multiplier from the stem's 16 * K channels.
void resnet_candidates(const CheckpointView& c, const ModelIO&, ArchCandidates& out) {
  const auto& first = c.tensors.front().tensor;
  const auto& last = c.tensors.back().tensor;
  if (first.dim() != 4 || last.dim() != 1) return;
  const ModelIO cifar{{first.size(1), 32, 32}, last.size(0)};
  if (first.size(0) % 16 == 0) {
    const std::string k = std::to_string(first.size(0) / 16);
    out.push_back({"resnet20x" + k, cifar});
    out.push_back({"resnet20x" + k + ":ln", cifar});
  }
  out.push_back({"resnet18", cifar});
}

}  // namespace rebasin::nn
