// Summary numbers of a continual-learning accuracy matrix R (R[i][j]: accuracy on task j's
// test set after training on task i). Plain vectors, no tensors, so tests can hand-make them.
#pragma once

#include <vector>

namespace rebasin::continual {

using AccuracyMatrix = std::vector<std::vector<double>>;

// Mean of the last row: accuracy over every task after the whole stream.
double average_accuracy(const AccuracyMatrix& r);

// Mean over tasks j < T-1 of the drop from the best accuracy task j ever had after it was
// learned, max_{j <= i < T-1} R[i][j], to its final accuracy R[T-1][j] (Chaudhry et al. 2018).
// 0 for a single task.
double forgetting(const AccuracyMatrix& r);

// Mean over tasks j < T-1 of R[T-1][j] - R[j][j] (Lopez-Paz and Ranzato 2017): negative when
// learning later tasks hurt earlier ones. 0 for a single task.
double backward_transfer(const AccuracyMatrix& r);

// Throws UserError unless r is square (T rows of T entries), T >= 1.
void check_square(const AccuracyMatrix& r);

}  // namespace rebasin::continual
