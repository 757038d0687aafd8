"""Lab 02's tolerances and bars, stated once, each with the figure that justifies it.

The references are float64, so anything looser than round-off means a wrong result.
"""

RTOL = 1e-5
ATOL = 1e-7
# Float32 work and other summation orders are honest too (issue 18.6): an element that is a sum of larger terms
# (a network's score near zero) carries their round-off, about 1e-7 of the array's largest magnitude; elements
# may also differ by SCALE_RTOL * max|expected|. Measured over 200 salts (tests/test_tolerances_lab02.py): an
# honest float32 two_layer_forward failed RTOL/ATOL alone on 9 of them; the mistakes differ by 1e-2 of the scale
# or more.
SCALE_RTOL = 1e-5
# cross_entropy (probabilities in): the course adds delta = 1e-7 inside the log; with probabilities
# >= 1e-3 that shifts the loss by < 1e-4 relative, so both conventions pass (as in lab 03).
CE_RTOL = 1e-4
CE_ATOL = 1e-6
# softmax_cross_entropy (scores in) must be the exact log-softmax loss: no delta. The float32 round-off of a
# log-sum-exp is ~1e-7 relative (it failed the former 1e-7 on some salts); delta added inside the log is caught by
# the cases of scores +-1000, where the target's probability underflows and the loss is 2000 or 1000 against
# -log(1e-7) = 16.1. Over 200 salts (tests/test_tolerances_lab02.py) float32 and loop variants pass, delta and a
# sum instead of a mean fail.
SCE_RTOL = 1e-5
SCE_ATOL = 1e-7
# numerical_gradient with h = 1e-4: the central difference is off by ~h^2 f'''/6 (< 1e-8 on these
# functions), the forward difference by ~h f''/2 (> 1e-5): the tolerance separates the two.
NUMGRAD_RTOL = 1e-6
NUMGRAD_ATOL = 1e-7
# x must be restored after numerical_gradient: x + h - h may differ from x by one rounding.
RESTORE_RTOL = 1e-12
# two_layer_gradient vs torch.autograd (float64): a float64 backprop differs in the summation order only, a float32
# one by float32 round-off (it failed the former 1e-6 / 1e-10 on 200 of 200 salts); the realistic mistakes (not
# averaged over the batch, sigmoid' taken as h) are off by factors. So: GRAD_RTOL, and SCALE_RTOL times the largest
# magnitude of the four gradients (a saturated sigmoid makes dL/dW1 tiny, not its float32 round-off).
GRAD_RTOL = 1e-5
GRAD_ATOL = 1e-10
# accuracy: a fraction k / N of at most 40 rows; only the last bit may differ (k / N vs mean of booleans).
ACCURACY_RTOL = 1e-12

# 02_h: test accuracy of the student's train(...) (default arguments) on the grader's held-out split of its rotated
# copies of the digits (autograder.kernel.probes.lab02.digits_split: 25 % of load_digits / 16, random_state 2024,
# rotated in R^64; issue 18.4). The reference solution (hidden 50, 50 epochs, batch 50, lr 1.0, seed 0) measures
# 0.9689 on it unsalted, 0.962-0.969 over 5 salts (0.9644 on the unrotated split, 0.9756 on the notebook's
# random_state=0 split): plain SGD from isotropic weights does not see a rotation. A correct solution stays well
# above 0.93.
TRAIN_ACCURACY_MIN = 0.93
# Trivial baselines on the same test images (tests/test_lab02_checks.py computes them and holds each to fail the bar
# by BASELINE_MARGIN): majority class 0.102; the untrained network (init_params, seed 0) 0.098; the reference's
# training run on load_digits itself (the test images included, the arguments ignored) 0.05-0.22 over the salts.
# A linear model cannot be written as these parameters (the check's forward pass has the sigmoid hidden layer).
BASELINE_MARGIN = 0.5
# The training loss must go down: mean of the last 10 % of iterations < this fraction of the first 10 %.
# Reference on the grader's split: 1.121 -> 0.038 (ratio 0.034).
LOSS_DECREASE_RATIO = 0.5
# Below this accuracy (chance is 0.1) the feedback says the parameters were not fitted on the x_train passed in.
CHANCE_HINT = 0.2
