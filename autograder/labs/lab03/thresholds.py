"""Lab 03's tolerances, stated once, each with the reason for its size.

The references are float64, so anything looser than float32 round-off means a wrong result, not a
different summation order.
"""

RTOL = 1e-5
ATOL = 1e-7
# An element near zero that is a sum of terms of order one (a convolution's output, a gradient) carries the
# round-off of those terms, not of its own value: float32 work, or another summation order, is off by about
# 1e-7 of the array's largest magnitude there, so elements may also differ by SCALE_RTOL * max|expected|.
# Measured over 200 salts (tests/test_tolerances_lab03.py): float32 variants reach 2e-7 of the scale; the
# realistic mistakes (flipped kernel, no bias, overwritten dx, ...) differ by 1e-2 of it or more. An absolute
# ATOL alone failed an honest float32 conv2d on 139 of those 200 salts.
SCALE_RTOL = 1e-5
# cross_entropy: the course adds delta = 1e-7 inside the log; with probabilities >= 1e-3 that shifts the
# loss by < 1e-4 relative, so both conventions pass.
CE_RTOL = 1e-4
CE_ATOL = 1e-6

# 03_h. Numerical gradients: central differences with step NUMGRAD_H on float64; the forward passes are
# linear (conv) or piecewise linear (max-pool, no near-ties in the inputs), so the truncation error is
# zero and only round-off remains: about 1e-10 here, far below these tolerances.
NUMGRAD_H = 1e-6
NUMGRAD_RTOL = 1e-5
NUMGRAD_ATOL = 1e-6
NUMGRAD_MAX_SIZE = 400  # gradient-check the cases whose input has at most this many elements
