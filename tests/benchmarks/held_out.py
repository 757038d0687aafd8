"""What the held-out sets (autograder.kernel.held_out) cost at the real datasets' size: the grader's draw, once per
grading run, and the kernel's read of it, once per notebook (before, every kernel drew the copies itself).

Not a test. The images are random bytes of the real test sets' shapes (MNIST's and CIFAR-10's 10,000 test images:
the copies cost the same whatever the pixels), so it runs without the datasets. Prints the median of --repeat
runs; results go by hand into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from autograder.datasets import cifar10, mnist
from autograder.kernel import held_out

SHAPES = {"lab04 MNIST copies": ((10000, 28, 28), mnist.test_copies),
          "lab05 CIFAR-10 copies": ((10000, 32, 32, 3), cifar10.test_copies)}


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    images_rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (shape, copies) in SHAPES.items():
            images = images_rng.integers(0, 256, shape, dtype=np.uint8)
            held = held_out.HeldOutSet(name.split()[0], lambda images=images, copies=copies: {
                "copies": copies(images, held_out.rng(0)), "order": np.arange(len(images))}, ("copies",))
            folder = Path(tmp) / held.name
            draw = median_s(lambda held=held, folder=folder: held_out.write(held, folder), args.repeat)
            read = median_s(lambda held=held, folder=folder: held_out.read(held, folder), args.repeat)
            size = (folder / f"{held.name}.copies.npy").stat().st_size / 2**20
            print(f"{name}: grader's draw and write {draw:.2f} s (once per run), {size:.1f} MiB; "
                  f"kernel's read {read * 1000:.1f} ms (per notebook)")


if __name__ == "__main__":
    main()
