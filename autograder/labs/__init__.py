"""Hidden checks per lab: ``from autograder.labs import lab03; lab03.check_conv2d(conv2d)``."""
