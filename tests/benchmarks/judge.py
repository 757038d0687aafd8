"""How long the grader's verdicts take: replaying every judged check of each answer key in the grader's process.

Not a test. Prints one line per notebook (milliseconds per notebook, median of --repeat runs); results
go by hand into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared harness

from replay_harness import JUDGED_NOTEBOOKS, judge_cells, record_cells  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    salt = "bench"
    for notebook in JUDGED_NOTEBOOKS:
        answers, cells = record_cells(notebook, salt)
        judge_cells(answers, cells, salt)  # warm: imports, torch
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            verdicts = judge_cells(answers, cells, salt)
            times.append(time.perf_counter() - start)
        assert all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]
        size = sum(len(str(o)) for _, outputs in cells for o in outputs)
        print(f"{notebook}: {len(verdicts)} checks judged in {statistics.median(times) * 1000:.0f} ms "
              f"(transcripts {size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
