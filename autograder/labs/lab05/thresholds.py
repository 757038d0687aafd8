"""Lab 05's bars and tolerances, stated once, each with the figure behind it.

The trained models' bars depend on the data profile (:func:`autograder.datasets.cifar10.profile`: the
real CIFAR-10 or the offline stand-in) and the notebook: :data:`THRESHOLDS`. The others hold on either.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.datasets import REAL, STANDIN

NORMAL, HARD = "05_n", "05_h"


@dataclass(frozen=True)
class Bar:
    """What a trained model must reach on the grader's test images, and within what training time."""

    min_accuracy: float
    max_train_seconds: float  # the smaller of the training's wall and CPU seconds (the locked cell measures both)
    # The model's mean loss on loaded test images must be at least this many times its loss on images of its
    # x_train (it has seen those, not these); below, it was trained on the test images or looks them up, and its
    # accuracy is not measured (issue 18.4). Figures beside THRESHOLDS.
    member_ratio: float = 1.0


# Why the smaller of the two: a grader busy with other kernels stretches the wall time of honest work (issue 18.6:
# an honest 05_n trained in 11-19 s on a quiet machine and in 87-116 s on a busy one) but not the CPU time it
# uses, and many threads (or a GPU's synchronisation spinning) inflate the CPU time but not the wall time.


# (data profile, notebook) -> Bar. The reference solutions' figures are beside each.
THRESHOLDS = {
    # Real CIFAR-10, graded on a GPU runner (the notebooks train on "cuda"). Not measured yet: no
    # machine used so far had both a GPU and the real data. Expected from published figures for the
    # same recipes: the normal CNN (3 conv layers 32-64-128, FC 256, Adam 1e-3, 20 epochs of
    # batch 64, flips + blur) about 0.75-0.80 in under a minute (TensorFlow's smaller CNN: about 0.70
    # in 10 epochs); the hard ResNet-9 (width 64, BatchNorm, one-cycle SGD, crop + flip, label
    # smoothing, 16 epochs) about 0.92-0.93 in 1-2 minutes (the DAWNBench ResNet-9 reaches 0.94 in
    # 24 epochs). Confirm with `autograder calibrate lab05` on the GPU runner with the real data.
    # Its trivial baselines, from published figures (NOT MEASURED here): the majority class 0.10 (the test
    # set has 1000 images of each class); a linear softmax model on the pixels about 0.39-0.41 (CS231n's softmax
    # classifier); a small MLP on the pixels about 0.50-0.55; k-nearest neighbours about 0.35-0.39 (CS231n:
    # 0.354 with L2, 0.386 with L1); an untrained network about 0.10. The nearest, the MLP, fails both bars
    # by 0.15 or more.
    # The loss ratio on the real data is not calibrated: 1.0 (test loss no lower than training loss) is where an
    # honest model cannot be; it refuses lookups and training on the test images alone, not always train + test.
    (REAL, NORMAL): Bar(min_accuracy=0.70, max_train_seconds=300.0, member_ratio=1.0),
    (REAL, HARD): Bar(min_accuracy=0.85, max_train_seconds=600.0, member_ratio=1.0),
    # The offline stand-in (autograder.datasets.cifar10.write_standin, seed 0: 512 train / 128
    # validation / 1000 test), graded on CPU with one thread per kernel (the notebooks train on
    # "cpu"; the hard one with width 12). Reference: normal 0.955 in about 14 s, hard 0.998 in about
    # 20 s (torch seeds 0-4: normal 0.93-0.96, hard 0.99-1.00); graded by `autograder grade` with two
    # kernels on a 2-core machine: normal 0.959 in 47 s, hard 0.992 in 45-52 s. Its trivial baselines, on the
    # grader's test images through the notebook's preprocess, fitted on the notebook's split (x_train, 512
    # images; measured 2026-12-05 on one 2-core runner, one thread; tests/test_baselines_training.py computes
    # them and holds each to fail both bars by at least BASELINE_MARGIN):
    #   the majority class of y_train                                          0.100
    #   logistic regression on the pixels (scikit-learn, C=0.01)              0.259  (C=1: 0.261, C=0.1: 0.264)
    #   Flatten-Linear(3072, 10) trained by the normal train_model (seed 0)    0.231  (seeds 1, 2: 0.239, 0.219)
    #   lab 04's MLP (100-100-100) trained by the normal train_model (seed 0)  0.268  (seeds 1, 2: 0.251, 0.247)
    #   Net() untrained (torch seed 0)                                         0.099  (seeds 0-4: 0.089-0.101)
    #   ResNet9(width=12) untrained (torch seed 0)                             0.093  (seeds 0-4: 0.093-0.116)
    # and 1-nearest-neighbour on the pixels 0.182: the stand-in's classes are shapes at random positions in
    # random colours, which only a convolutional network learns. The nearest fails the normal bar by 0.33.
    #
    # Issue 18.4: the accuracy is measured on the grader's copies of the test images (shifted 1-2 pixels, colour
    # jittered: autograder.datasets.cifar10.test_copies). The reference, torch seeds 0 / 1 / 2, one thread, no salt:
    # normal 0.944 / 0.892 / 0.893 on the copies (0.958 / 0.908 / 0.911 on the loaded originals); hard (seeds 0 / 1)
    # 0.993 / 0.992 (0.993 / 0.996): the bars keep margins of 0.29 and 0.19. member_ratio: the mean loss on 1000
    # loaded test images over the mean loss on 512 images of x_train. Normal: honest 1.67 / 1.46 / 1.53, trained on
    # train + test 0.70, on the test images only 0.26. Hard (label smoothing keeps every loss above about 0.08):
    # honest 1.16 / 1.21, train + test 1.02, test only 0.88. A table or nearest-neighbour lookup of the loaded test
    # images: about 0.
    (STANDIN, NORMAL): Bar(min_accuracy=0.60, max_train_seconds=240.0, member_ratio=1.2),  # margins 0.26 / 0.50
    (STANDIN, HARD): Bar(min_accuracy=0.80, max_train_seconds=300.0, member_ratio=1.05),  # margins 0.11 / 0.03
}

# Every trivial baseline above must fail every stand-in accuracy bar by at least this: 100 of the 1000 test
# images, about 7 standard errors of an accuracy near 0.25 (sqrt(0.25 * 0.75 / 1000) = 0.014), more than
# twice the spread of the trained baselines over seeds (0.219-0.268).
BASELINE_MARGIN = 0.1

# preprocess: the output over the grader's training images must have per-channel mean 0 and
# standard deviation 1 within these (the reference: |mean| < 0.01, |std - 1| < 0.01 on either profile).
NORM_MEAN_TOL = 0.1
NORM_STD_TOL = 0.1
# Largest residual of the per-channel affine fit of preprocess's output on its input, relative to the
# output's scale: float32 round-off of (x / 255 - MEAN) / STD is about 1e-7 of it; a flip, a blur, a swap of
# channels or a reshape leaves residuals of order 1.
AFFINE_TOL = 1e-4

# augment (normal): the notebook's probabilities are 0.5 (horizontal flip), 0.1 (vertical flip) and
# 0.1 (blur); over the 1000 probe images the observed fractions must fall in these ranges (each about
# 10 standard deviations wide: sqrt(0.25 / 1000) = 0.016, sqrt(0.09 / 1000) = 0.0095).
HFLIP_RANGE = (0.35, 0.65)
VFLIP_RANGE = (0.03, 0.25)
BLUR_RANGE = (0.03, 0.25)
BLUR_AMPLITUDE = 0.7  # a blurred probe keeps less than this fraction of its checkerboard's amplitude (3x3, sigma 1: 0.2)
EXACT_ATOL = 1e-5  # an unblurred image must be its input, flipped, within float32 round-off (rtol and atol)
CROP_ATOL = 1e-5  # random_crop: an output image is a crop of its padded input when no pixel differs by more

# A network's output on one image alone must be its output within the batch (eval mode): float32 round-off
# of a batched convolution is about 1e-6.
ALONE_RTOL, ALONE_ATOL = 1e-4, 1e-5
PROBABILITY_ATOL = 1e-4  # outputs >= 0 whose rows sum to 1 within this are probabilities (softmax), not logits
# ResNet9 with its residual convolutions zeroed: the two images' outputs equal within this means the output
# does not depend on the image (no skip connection); through the skips they differ by order 1.
RESIDUAL_RTOL, RESIDUAL_ATOL = 1e-5, 1e-6

# evaluate: the loss on the grader's model (float32; mixed precision on a GPU may differ a little). The
# mean of the batches' means differs from the mean over the images by about 7 %.
EVAL_LOSS_RTOL = 2e-2
EVAL_ACCURACY_TOL = 1.5 / 250  # accuracy over 250 images: one image is 0.004
# The kernel's scores of the grader's small model against the grader's own, on the CPU: a GPU's TF32
# convolutions differ by about 1e-3 relative; the evaluate probe's scores are scaled up to about +-30.
GRADER_MODEL_RTOL = 1e-2
GRADER_MODEL_ATOL = 5e-2

# train_model on the grader's toy problem (320 images, 4 colour classes, 3 epochs): the trained model's validation
# loss, as the grader measures it, must fall to at most this fraction of the untrained model's. Over 60 salts: the
# 05_n reference 0.011-0.277 (median 0.053), 05_h's 0.014-0.041 (40 salts); the realistic mistakes 1.0 (lr 1e-7) and
# 0.887-1.115 (each mini-batch's labels shuffled). The former bar, a validation accuracy of 0.8, failed the 05_n
# reference on 1 salt in 60 (0.675, its loss down 72 %) and passed shuffled labels on some.
TRAIN_CHECK_LOSS_RATIO = 0.5
# train_model's mini-batches as the model was fed them (3 epochs of 320 images). Fed as given (not augmented):
# 05_n's augment leaves about 0.5 * 0.9 * 0.9 = 0.405 of the images as they were, 05_h's (crop + flip) about
# 1 / 162; an augment skipped, 1.0. Fed after epoch 1 exactly as an image of epoch 1: 05_n about 0.34 (the sum
# of its eight variants' squared probabilities), 05_h about 1 / 162; an augment of the whole training set
# once, before the loop, 1.0. Both bars sit over 12 standard deviations above 05_n's honest fractions.
# Measured on 8 salts (tests/test_lab05_checks.py): 05_n 0.38-0.42 as given, 0.30-0.36 repeated; 05_h at most
# 0.011 of either.
FED_AS_GIVEN_MAX = 0.6
FED_REPEATED_MAX = 0.6
FED_RTOL = 1e-2  # two projected images are the same within this of their size (a flip or blur: about 1)
VAL_ACC_TOL = 1.5 / 80  # the last val_acc of the history against the grader's (80 validation images)
# train_model (hard): a one-cycle schedule has at least half its per-step rates distinct, its peak neither
# first nor last, and ends under ONE_CYCLE_END of its peak (OneCycleLR's end: about 1e-5 of it).
ONE_CYCLE_END = 0.1

MEMBER_EPSILON = 1e-12  # a training loss below this counts as this in the reported ratio (a table lookup: 0)

# The grader runs the trained network itself (autograder.labs.lab05.audit, issue 18.5): the weights the kernel sent,
# in the exercise's network, on AUDIT_IMAGES of its test images drawn with the held-out secret (the kernel cannot
# know which), and at least AUDIT_AGREEMENT of them must get the class the kernel reported (or the class of the
# mirrored image: a random flip left in preprocess at test time is the preprocess check's mistake, not a forgery).
# The answer keys agree on all 500 on the stand-in; float16 weights (a network over 4 million values) or a GPU's
# TF32 change only near ties. Forged classes (the true labels, another classifier's) differ wherever the network
# errs: 1 - its accuracy (stand-in 0.01-0.05, CIFAR-10 0.08-0.25).
AUDIT_IMAGES = 500
AUDIT_AGREEMENT = 0.98
AUDIT_SEED = 5201
# The membership test's losses computed by the grader from those weights: GRADER_MEMBER_ROWS loaded test images and
# as many images of the notebook's x_train (found in the training files by digest), drawn with the held-out secret.
GRADER_MEMBER_ROWS = 1000
GRADER_MEMBER_SEED = 5202
# The network checks run a new network's state (BatchNorm given random statistics) in the exercise's network, on
# the same six random images: each row's outputs, less the row's mean (a per-image constant changes no softmax, so
# log_softmax in forward is accepted), must be the grader's within NETWORK_RTOL of their largest size. Float32
# round-off of another order of the same operations is about 1e-6; a ReLU left out differs by 0.03 or more (the
# least over 20 initialisations and each of Net's four ReLUs). tests/test_lab05_checks.py holds the refused cases.
NETWORK_RTOL = 1e-3
