// Continual learning by re-basin (METHOD.md section 9) and the baselines it is compared with,
// all under one protocol: a stream of tasks (rotated, permuted or split MNIST / Fashion-MNIST),
// one model trained task after task, and after every task its accuracy on every task's test
// set (one row of the accuracy matrix). The GUI worker and `rebasin continual` call this.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"

namespace rebasin::continual {

struct ContinualOptions {
  std::string stream = "rotated-mnist";  // rotated-mnist|permuted-mnist|split-mnist|split-fashion
  int tasks = 20;                         // ignored (5) for split streams
  std::string method = "rebasin-il";      // rebasin-il|finetune|ewc|replay|joint
  bool class_incremental = false;         // split streams
  std::uint64_t seed = 0;
  c10::Device device = c10::kCPU;
  double alpha = 0.8;                     // evaluation mix of rebasin-il (train mix 0.5)
  int epochs = 5;
  std::int64_t train_per_task = 0;        // 0: the whole training split; smaller for demos/tests
  std::int64_t test_per_task = 0;         // 0: the whole test split
  std::string data_dir;                   // "" : the default data search path
  // Inputs normalised with the data set's mean and std as in the reference benchmarks
  // (false: pixels in [0, 1]).
  bool normalize = true;

  // The model every method trains (input 784, output 10).
  std::string arch = "mlp:784,256,10";
  // <= 0: the method's reference value (METHOD.md section 9): batch 10 and SGD lr 0.01 for
  // finetune and ewc; batch 500 and AdamW lr 1e-3 for rebasin-il (first task), replay, joint.
  std::int64_t batch_size = 0;
  double lr = 0.0;
  // Replay memory (rebasin-il, replay): replay_size samples in all, replay_size / tasks for
  // each task, balanced over the task's classes; each step adds up to replay_batch of them
  // (<= 0: the batch size) to the new task's batch.
  std::int64_t replay_size = 1000;
  std::int64_t replay_batch = 0;
  // rebasin-il, tasks after the first: the Sinkhorn re-basin network and the residual.
  double train_alpha = 0.5;   // theta = train_alpha theta_prev + (1 - train_alpha) pi_P(theta_prev) + delta
  double tau = 1.0;
  int sinkhorn_iters = 20;
  double rebasin_lr = 0.1;    // AdamW on the X logits
  double residual_lr = 0.05;  // SGD on delta
  double residual_weight_decay = 0.1;
  double residual_clip = 0.001;  // elementwise gradient clip of delta
  double residual_init = 1e-4;   // delta starts at N(0, 1) * residual_init
  // ewc: penalty lambda * sum_k sum_i F_k,i (theta_i - theta_k,i)^2 over finished tasks k;
  // the Fisher diagonal from at most ewc_samples training samples of the task (0: all).
  double ewc_lambda = 100.0;
  std::int64_t ewc_samples = 0;
};

struct ContinualResult {
  std::vector<std::vector<double>> accuracy_matrix;  // [after task][task], 0..1
  double average_accuracy = 0, forgetting = 0, backward_transfer = 0, seconds = 0;

  // rebasin-il only (empty otherwise): the same models mixed at train_alpha (the mix they
  // were trained at) instead of alpha, measured alongside without changing the run.
  std::vector<std::vector<double>> train_mix_accuracy_matrix;
  double train_mix_average_accuracy = 0;

  std::vector<std::string> task_names;  // e.g. "rotate 9.5", "digits 0,1"
  std::int64_t batch_size = 0;          // the batch size the method used
  std::int64_t train_per_task = 0;      // training samples the first task used (split tasks differ)
};

// Throws UserError on bad options, Cancelled when cancelled (checked every batch); reports a
// TaskEvent after every task and ProgressEvents (stage "continual") through the sink.
ContinualResult run_continual(const ContinualOptions&, EventSink* sink = nullptr,
                              const CancelToken* cancel = nullptr);

// The accepted names, for front ends' help and checks.
const std::vector<std::string>& stream_names();
const std::vector<std::string>& method_names();

}  // namespace rebasin::continual
