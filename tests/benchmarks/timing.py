"""The benchmarks' shared stopwatch (imported by the scripts beside it, which run with this folder on sys.path)."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``fn()`` over ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)
