"""A one-page picture of a graded class: how each question went, and how long grading took."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autograder.score.results import GRADED, NotebookResult

# Outcome of one question for one student, in stacking order (left to right), with its colour.
_OUTCOMES = {
    "full marks": "#1a9850",
    "partial": "#fdae61",
    "zero": "#d73027",
    "no gradable notebook (0)": "#bdbdbd",  # missing, invalid or failed: scores 0, but not for a wrong answer
    "awaiting hand grading": "#4575b4",  # not scored yet: kept apart, not counted as 0
}


def _outcome_counts(results: list[NotebookResult]) -> tuple[list[str], np.ndarray, list[float | None]]:
    """Per question (label), how many students had each outcome, and the mean fraction of max earned."""
    notebooks = list(dict.fromkeys(r.notebook for r in results))
    labels, rows, means = [], [], []
    for nb in notebooks:
        of_nb = [r for r in results if r.notebook == nb]
        qids = list(dict.fromkeys(q.grade_id for r in of_nb if r.status == GRADED for q in r.questions))
        for qid in qids:
            counts = dict.fromkeys(_OUTCOMES, 0)
            fractions = []
            for r in of_nb:
                q = next((q for q in r.questions if q.grade_id == qid), None) if r.status == GRADED else None
                if q is None:
                    counts["no gradable notebook (0)"] += 1
                    fractions.append(0.0)
                elif q.needs_manual_grade:
                    counts["awaiting hand grading"] += 1
                else:
                    frac = q.score / q.max_score if q.max_score else 1.0
                    counts["full marks" if frac >= 1 else "zero" if frac <= 0 else "partial"] += 1
                    fractions.append(frac)
            labels.append(qid if len(notebooks) == 1 else f"{Path(nb).stem}: {qid}")
            rows.append([counts[k] for k in _OUTCOMES])
            # A mean with hand grading still to come would understate the question: say "pending" instead.
            pending = counts["awaiting hand grading"] > 0
            means.append(None if pending or not fractions else sum(fractions) / len(fractions))
    return labels, np.array(rows, dtype=float).reshape(-1, len(_OUTCOMES)), means


def _plot_questions(ax, results: list[NotebookResult]) -> None:
    labels, counts, means = _outcome_counts(results)
    ax.set_title("Outcome per question (share of students)", loc="left", fontsize=11, pad=24)
    if not labels:
        ax.text(0.5, 0.5, "no graded questions", ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_axis_off()
        return
    shares = 100 * counts / counts.sum(axis=1, keepdims=True)
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for i, (name, colour) in enumerate(_OUTCOMES.items()):
        ax.barh(y, shares[:, i], left=left, color=colour, label=name, height=0.75, edgecolor="white", linewidth=0.5)
        left += shares[:, i]
    # Mean fraction of max earned, in the right margin, so that bars stay comparable at a glance.
    for yi, mean in zip(y, means, strict=True):
        ax.text(101.5, yi, "pending" if mean is None else f"{100 * mean:.0f}%", va="center", fontsize=8)
    ax.text(101.5, -0.9, "mean", fontsize=8, fontweight="bold", va="center")
    ax.set_yticks(y, labels, fontsize=8 if len(labels) > 15 else 9)
    ax.set_ylim(len(labels) - 0.5, -1.4)  # first question on top; room for the "mean" header
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(_OUTCOMES), fontsize=8, frameon=False,
              borderaxespad=0.2, handlelength=1.2, columnspacing=1.0)


def _plot_times(ax, results: list[NotebookResult]) -> None:
    times = [r.elapsed for r in results if r.elapsed > 0]
    untimed = len(results) - len(times)
    ax.set_title(f"Grading time per submission (n={len(times)}"
                 + (f"; {untimed} without timing, e.g. missing or invalid)" if untimed else ")"),
                 loc="left", fontsize=11)
    if not times:
        ax.text(0.5, 0.5, "no grading times recorded", ha="center", va="center", transform=ax.transAxes,
                color="grey")
        ax.set_axis_off()
        return
    lo, hi = min(times), max(times)
    # One timed-out notebook (minutes) next to many of seconds would squash a linear axis.
    log = hi / lo > 30
    bins = np.geomspace(lo, hi * 1.001, 31) if log else min(30, max(5, len(times) // 3))
    ax.hist(times, bins=bins, color="#74add1", edgecolor="white", linewidth=0.5)
    if log:
        ax.set_xscale("log")
    median = statistics.median(times)
    ax.axvline(median, color="black", linestyle="--", linewidth=1.2, label=f"median {median:.1f} s")
    ax.axvline(hi, color="#d73027", linestyle=":", linewidth=1.2, label=f"max {hi:.1f} s")
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.set_xlabel("seconds" + (" (log scale)" if log else ""))
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)


def plot_summary(results: list[NotebookResult], path: Path, *, title: str) -> Path:
    """Write a PNG: per question, the share of students with full marks, partial, zero, no gradable
    notebook (missing/invalid/failed, counted as 0) and awaiting hand grading, with the mean fraction
    of max earned; below, a histogram of grading time per submission (``elapsed``) with the median."""
    n_questions = len(_outcome_counts(results)[0])
    top = max(2.0, 0.26 * n_questions + 1.3)  # inches: bars keep their thickness from 1 to 30+ questions
    fig = Figure(figsize=(10, top + 3.2), layout="constrained")
    FigureCanvasAgg(fig)  # rendering without any GUI backend
    students = len({r.student_id for r in results})
    fig.suptitle(f"{title}  ({students} students, {len(results)} notebooks)", fontsize=13, x=0.01, ha="left")
    ax_q, ax_t = fig.subplots(2, 1, height_ratios=[top, 3.2])
    _plot_questions(ax_q, results)
    _plot_times(ax_t, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
