// Derived seeds: every random choice of a continual run (subsets, permutations, batch orders,
// initial logits) gets its own stream from (run seed, purpose, task), so changing one part of
// the protocol does not reshuffle the others.
#pragma once

#include <cstdint>

namespace rebasin::continual {

// splitmix64 of the mixed inputs: well spread even for consecutive seeds.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index = 0) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + purpose * 0xBF58476D1CE4E5B9ull + index * 0x94D049BB133111EBull +
                    0x2545F4914F6CDD1Dull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

enum Purpose : std::uint64_t {
  kPixelPerm = 1,
  kTrainSubset,
  kTestSubset,
  kBatchOrder,
  kReplaySelect,
  kReplayDraw,
  kRebasinInit,
  kJointDraw,
  kFisherOrder,
};

}  // namespace rebasin::continual
