"""Lab 06's tolerances and bars, stated once, each with the figure that justifies it."""

# Data preparation (scaling, windows, the split): the references are float64, and any realistic mistake (another
# scaling, a window off by one month, a shuffled split) is off by a large part of the values. An honest
# implementation in float32, the dtype deep learning computes in, is off by its round-off: about 6e-8 of each
# value and of the largest one (a value near 0 carries the round-off of the terms it came from). RTOL and
# SCALE_RTOL (times the largest expected value, added to ATOL) accept that with a margin of over 100, and no
# more (tests/test_tolerances_lab06.py: honest variants and mistakes on 200 salts). They were 1e-9 and 1e-12,
# which failed a float32 scaling (issue 18.6).
RTOL = 1e-5
SCALE_RTOL = 1e-5
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
# The bar was RMSE_MAX = 0.15, above persistence's 0.101: a persistence model (+0 x LSTM) got full marks (issue 18.3).
# What is measured now is the skill over persistence: the test RMSE must be below RMSE_VS_PERSISTENCE_MAX times
# the RMSE of predicting the last month again, on the same windows (0.1012): below 0.0962. The reference
# (seed 0, as the notebook fixes it) measures 0.0576-0.0646, a ratio of 0.57-0.64; over torch seeds 0-7 (one
# thread, this runner, 2026-12-05): 0.0646 0.0755 0.0681 0.0816 0.0903 0.0880 0.0739 0.0860, ratios 0.64-0.89. The bar
# sits between the worst honest seed (0.89, margin 0.06) and the best trivial baseline (0.997, margin 0.047).
RMSE_VS_PERSISTENCE_MAX = 0.95
# The trivial baselines on the grader's test windows (scaled series), as RMSE and as the ratio measured
# (tests/test_lab06_checks.py computes them and holds each to fail the bar by at least BASELINE_MARGIN):
#   persistence (the last month again)          0.1012  ratio 1.000
#   seasonal naive (the same month a year ago)   0.1009  ratio 0.997
#   linear AR(1) on the last month, least squares 0.1012  ratio 0.999
#   the training mean                            0.4039  ratio 3.99
#   the LSTM untrained (PyTorch's initial weights, seed 0): see the test (ratio > 1.5)
# Not a baseline this bar can fail: a linear model on the whole 12-month window (least squares: 0.0405, ratio 0.40)
# forecasts this series better than the LSTM. The exercise's LSTM is required by the structural checks
# (check_lstm_regressor runs the student's class on the grader's weights), not by the RMSE.
BASELINE_MARGIN = 0.04

# check_test_rmse measures the model that reached the bar itself (issue 18.4: the test months are the public series'
# last 13, so a forward pass that looks a window up in the series answers with its true next month). The kernel sends
# the trained model's parameters with its predictions; they must be one nn.LSTM layer and one nn.Linear (any names,
# any hidden size, nothing else: no buffer, no table), and the grader's own forward pass of them
# (reference.lstm_regressor: the Linear on the state after the last step) must give the predictions the kernel
# reported, within these. Float32 round-off is ~1e-6 here, a GPU's TF32 ~1e-3. A lookup is off by the LSTM's own
# error (the reference's: 0.06 RMSE, up to 0.12 on one month), and a blend of a lookup and the LSTM that stays within
# 5e-3 of the LSTM gains at most 5e-3 of RMSE. The RMSE is then the grader's, from its own predictions.
OWN_FORWARD_RTOL = 5e-3
OWN_FORWARD_ATOL = 5e-3

# train_model on the grader's toy problem (TRAIN_CHECK_EPOCHS = 100 full-batch Adam epochs, lr 0.01, in
# autograder.kernel.probes.lab06): the grader's own MSE of its model must fall below this fraction of the MSE
# before training. From the grader's initial weights (grader_weights(607)) the reference reaches 0.003 and
# forgetting optimizer.zero_grad() stalls at 0.85 or more, whatever the salt of the toy problem's noise (other
# initial weights: 0.005-0.11 and 0.19-1.5).
TRAIN_LOSS_RATIO = 0.15
