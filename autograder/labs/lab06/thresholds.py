"""Lab 06's tolerances and bars, stated once, each with the figure that justifies it."""

# Data preparation is exact arithmetic on float64: anything looser than round-off is a wrong result.
RTOL = 1e-9
ATOL = 1e-12

# check_prepared: prepared arrays whose largest absolute value exceeds this were not built from the scaled
# series (scaled values lie in [0, 1]; the raw passenger counts are 104-622).
SCALED_PEAK_MAX = 2.0

# Model outputs are float32, the grader's NumPy forward pass float64: they may differ in round-off only.
PREDICT_RTOL = 1e-4
PREDICT_ATOL = 1e-6

# LSTMRegressor: outputs for one window must not depend on the other windows of the batch (float32 round-off
# of a batched versus a single forward pass is far below these).
BATCH_RTOL = 1e-4
BATCH_ATOL = 1e-6
# ... and raising the last value of every window by 1 must change the prediction by more than this (a model
# that reads the LSTM's output at another time step than the last does not change at all).
LAST_STEP_ATOL = 1e-7

# Test RMSE on the scaled series (the seed reports 0.10079 with tflearn, one LSTM layer of 6 units;
# its two-layer model got 0.1605, "worse"). The reference solution (LOOK_BACK 12, full-batch Adam,
# lr 0.01, 1000 epochs, torch.manual_seed(0)) measures 0.0646 on one 2-core runner and 0.0576 on another (an
# AMD EPYC: 1000 epochs of float32 training round differently on other CPUs); over torch seeds 0-7 it
# ranges 0.065-0.090. Predicting the last month again (persistence) gives 0.101, the training mean 0.404.
# Mistakes measured: no scaling 12.06, nn.LSTM without batch_first 0.267, no optimizer.zero_grad() 1.30.
RMSE_MAX = 0.15

# train_model on the grader's toy problem (TRAIN_CHECK_EPOCHS = 100 full-batch Adam epochs, lr 0.01, in
# autograder.kernel.probes.lab06): the grader's own MSE of its model must fall below this fraction of the MSE
# before training. From the grader's initial weights (grader_weights(607)) the reference reaches 0.003 and
# forgetting optimizer.zero_grad() stalls at 0.85 or more, whatever the salt of the toy problem's noise (other
# initial weights: 0.005-0.11 and 0.19-1.5).
TRAIN_LOSS_RATIO = 0.15
