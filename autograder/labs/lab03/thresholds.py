"""Lab 03's tolerances, stated once, each with the reason for its size.

The references are float64, so anything looser than float32 round-off means a wrong result, not a
different summation order.
"""

RTOL = 1e-5
ATOL = 1e-7
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
