"""Lab 01's thresholds, tolerances and budgets, stated once, each beside the figure that justifies it.

Each model threshold sits beside the figure the reference solution (solutions/lab01/01_n.ipynb) reaches
in the same check, measured single-threaded; the margin means a correct solution never fails, while
the realistic mistakes of the sample class fall far below. The notebook's visible tests state the same
bars (tests/test_lab01_checks.py holds them to it).
"""

# make_sin_data / make_quantiles_split: the data are computed exactly as the seed does, so only float64
# round-off may differ.
DATA_RTOL = 1e-9
DATA_ATOL = 1e-12
# make_sin_data(2000, ...): the largest gap between the fraction of x in a quarter of [0, 4) and 1/4. One
# fraction's standard deviation is sqrt(0.25 * 0.75 / 2000) = 0.0097: 0.06 is 6 of them.
SIN_QUARTER_MAX_GAP = 0.06
SIN_UNIFORM_MIN_SIZE = 2000  # the calls large enough for that test
# make_sequence_data(5000, ...): the largest gap between a digit's frequency (of 50,000 digits) and 1/10;
# one frequency's standard deviation is sqrt(0.1 * 0.9 / 50000) = 0.0013: 0.02 is 15 of them.
SEQ_DIGIT_MAX_GAP = 0.02
SEQ_UNIFORM_MIN_SIZE = 5000

# sin(x*pi) regression: R² on a grid of [0, 4) after training on the grader's 2000 points.
SIN_R2_MIN = 0.95  # reference MLPRegressor((20, 20, 20, 20)): 0.998; a (2,) network: 0.15
# "a 10-digit sequence contains a 1": accuracy on 20,000 fresh sequences.
SEQ_ACC_MIN = 0.95  # reference one-hot + MLP((20,)): 1.000; always answering 1: 0.651 (= 1 - 0.9**10)
# load_digits: accuracy on the grader's own held-out 30 %.
DIGITS_ACC_MIN = 0.93  # reference StandardScaler + MLP((20, 20)): 0.970; the seed's code as is: 0.957; 10 epochs: 0.51
# PCA(4) of the digits: compared with scikit-learn's PCA (float64, same data); signs of components are free.
PCA_RTOL = 1e-4
PCA_RATIO_ATOL = 1e-8
PCA_ATOL_REL = 1e-4  # absolute tolerance on the scores, as a fraction of their largest magnitude
# t-SNE of 500 digits: 5-NN accuracy in 2-D (5-fold cross-validation), never the coordinates.
TSNE_KNN_MIN = 0.85  # reference TSNE(2): 0.946 (perplexity 5-50: 0.940-0.954); PCA's first 2 components: 0.61
# make_gaussian_quantiles (seed 002): accuracy on the 20 % validation split the grader makes itself.
QUANT_ACC_MIN = 0.85  # reference MLPClassifier((5,), lr 0.05, max_iter=500): 0.975; a single epoch: 0.55
QUANT_HIDDEN = (5,)  # the network the exercise prescribes: one hidden layer of 5 neurons

# CPU-time budgets (one core) for each training function, seconds; the notebook's imports cell states them,
# and the kernel interrupts a call soon after (autograder.kernel.probes.lab01.TRAIN_TIME_LIMIT_S).
TRAIN_BUDGET_S = 10.0  # reference: sin 0.6 s, sequences 2.2 s, digits 0.8 s, quantiles 0.1 s
TSNE_BUDGET_S = 20.0  # reference: 2 s for 500 digits (all 1797: 9 s)
# The seed's network on raw digits, MLPClassifier((50, 50, 50, 50)), takes 0.06 s per epoch on 20,000 sequences
# (AMD EPYC, one core): it converges near the budget; 1000 epochs without early stopping take about 56 s.
