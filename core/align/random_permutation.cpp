// The "random" method: a seeded random permutation of every group (head-structured groups by
// whole heads and units, as nn::random_permutations draws them). Not an alignment: the floor
// that shows what any method gains over permuting blindly.
#include "align/methods.h"

namespace rebasin::align {

AlignResult run_random_permutation(const MethodCall& c) {
  AlignResult r;
  r.perms = nn::random_permutations(c.arch.spec(), c.options.seed);
  return r;
}

}  // namespace rebasin::align
