// VGG: 3x3 convolutions (padding 1) with ReLU, 2x2 max-pools ("M"), optional BatchNorm, then a
// classifier Linear(C*H*W, 512) - ReLU - Linear(512, outputs). Groups: each conv's output
// channels and the hidden classifier units. The first Linear sees the last conv's channels
// through Flatten, so its input axis is tied to that group with an H*W inner block.
#include <ATen/ATen.h>

#include <sstream>

#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"

namespace rebasin::nn {
namespace {

constexpr std::int64_t kPool = -1;  // "M" in a configuration

class Vgg : public Architecture {
 public:
  Vgg(std::string name, const ModelIO& io, std::vector<std::int64_t> cfg, bool bn)
      : Architecture(std::move(name), io), cfg_(std::move(cfg)), bn_(bn) {
    require(io.input_shape.size() == 3, "architecture '" + name_ + "' needs image inputs (C x H x W)");
    std::int64_t c = io.input_shape[0], h = io.input_shape[1], w = io.input_shape[2];
    int prev = -1, index = 0;
    for (std::int64_t v : cfg_) {
      if (v == kPool) {
        h /= 2;
        w /= 2;
        require(h >= 1 && w >= 1, "architecture '" + name_ + "': too many max-pools for a " +
                                      std::to_string(io.input_shape[1]) + "x" +
                                      std::to_string(io.input_shape[2]) + " input");
        index += 1;
        continue;
      }
      const int g = spec_.add_group("features." + std::to_string(index), v);
      add_conv(spec_, "features." + std::to_string(index), c, v, 3, prev, g, true);
      if (bn_) add_batchnorm(spec_, "features." + std::to_string(index + 1), v, g);
      index += bn_ ? 3 : 2;
      prev = g;
      c = v;
    }
    require(prev >= 0, "architecture '" + name_ + "' has no convolution");
    const int hidden = spec_.add_group("classifier.0", kHidden);
    add_linear(spec_, "classifier.0", c * h * w, kHidden, prev, hidden, h * w);
    add_linear(spec_, "classifier.2", kHidden, io.outputs, hidden, -1);
    spec_.validate();
  }
  bool reports_units() const override { return true; }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const override {
    at::Tensor h = x;
    int index = 0, group = 0;
    for (std::int64_t v : cfg_) {
      if (v == kPool) {
        h = at::max_pool2d(h, {2, 2});
        index += 1;
        continue;
      }
      const std::string conv = "features." + std::to_string(index);
      h = at::conv2d(h, p(conv + ".weight"), p(conv + ".bias"), {1, 1}, {1, 1});
      if (bn_) {
        const std::string norm = "features." + std::to_string(index + 1);
        h = p.units(norm, group, batchnorm(p, norm, h, train));
      } else {
        h = p.units(conv, group, h);
      }
      h = at::relu(h);
      if (hook) (*hook)(group, h);
      ++group;
      index += bn_ ? 3 : 2;
    }
    h = at::relu(p.units("classifier.0", group, at::linear(h.flatten(1), p("classifier.0.weight"), p("classifier.0.bias"))));
    if (hook) (*hook)(group, h);
    return at::linear(h, p("classifier.2.weight"), p("classifier.2.bias"));
  }

 private:
  static constexpr std::int64_t kHidden = 512;
  std::vector<std::int64_t> cfg_;
  bool bn_;
};

std::vector<std::int64_t> parse_cfg(const std::string& arch, const std::string& text) {
  std::vector<std::int64_t> cfg;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "M") {
      cfg.push_back(kPool);
      continue;
    }
    const auto v = parse_int(item, 1, 65536);
    require(v.has_value(), "architecture '" + arch + "': '" + item + "' is neither a width nor M");
    cfg.push_back(*v);
  }
  return cfg;
}

}  // namespace

std::unique_ptr<Architecture> make_vgg(const std::string& arch, const ModelIO& io) {
  std::string base = arch;
  bool bn = false;
  if (base.size() > 3 && base.compare(base.size() - 3, 3, ":bn") == 0) {
    bn = true;
    base = base.substr(0, base.size() - 3);
  }
  std::string cfg;
  if (base == "vgg11") cfg = "64,M,128,M,256,256,M,512,512,M,512,512,M";
  else if (base == "vgg13") cfg = "64,64,M,128,128,M,256,256,M,512,512,M,512,512,M";
  else if (base == "vgg16") cfg = "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M";
  else if (base == "vgg19") cfg = "64,64,M,128,128,M,256,256,256,256,M,512,512,512,512,M,512,512,512,512,M";
  else if (base.rfind("vgg:", 0) == 0) cfg = base.substr(4);
  else throw UserError("unknown architecture '" + arch + "' (VGG: vgg11|vgg13|vgg16|vgg19 or vgg:8,M,32,M,64, optionally :bn)");
  return std::make_unique<Vgg>(arch, io, parse_cfg(arch, cfg), bn);
}

// The VGG family (family_registry.h).
bool vgg_owns(const std::string& arch) { return arch.rfind("vgg", 0) == 0; }

// The classifier's input is C * H * W of the last feature map (five pools): every depth, with
// and without BatchNorm, at the usual image sides.
void vgg_candidates(const CheckpointView& c, const ModelIO&, ArchCandidates& out) {
  const auto& first = c.tensors.front().tensor;
  const auto& last = c.tensors.back().tensor;
  if (first.dim() != 4 || last.dim() != 1) return;
  for (const char* v : {"vgg11", "vgg13", "vgg16", "vgg19"})
    for (const char* bn : {"", ":bn"})
      for (std::int64_t side : {32, 64, 224})
        out.push_back({std::string(v) + bn, ModelIO{{first.size(1), side, side}, last.size(0)}});
}

}  // namespace rebasin::nn
