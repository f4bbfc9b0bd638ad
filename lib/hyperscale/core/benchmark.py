"""Timing several calls fairly in one process: they take turns round by round, so a slow spell
(another process, a frequency change) hits all alike; the median of the repeats is reported.
Benchmarks print ratios of such medians; absolute times are the machine's. A claim that reads a
ratio of times reads it with its interval: the median of the per-round ratios, within the
distribution-free 95 % interval of a median (`ratio_interval`), as the rounds pair the calls."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch


def interleaved_rounds(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, np.ndarray]:
    """Milliseconds of each call in each of `repeats` rounds, the calls taking turns for warmup +
    repeats rounds (no autograd); round r of every call ran side by side."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0; got {repeats}, {warmup}")
    times = {k: [] for k in calls}
    with torch.inference_mode():
        for r in range(warmup + repeats):
            for k, f in calls.items():
                t0 = time.perf_counter()
                f()
                if r >= warmup:
                    times[k].append(1000 * (time.perf_counter() - t0))
    return {k: np.asarray(v) for k, v in times.items()}


def interleaved_ms(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, float]:
    """Median milliseconds of each call over `interleaved_rounds`."""
    return {k: float(np.median(v)) for k, v in interleaved_rounds(calls, repeats, warmup).items()}


def median_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """(median, low, high): the distribution-free interval of a median from order statistics (the
    binomial(n, 1/2) count of values below it); with too few values for `level`, the whole range."""
    from scipy.stats import binom

    x = np.sort(np.asarray(x, float))
    n = len(x)
    j = int(binom.ppf((1 - level) / 2, n, 0.5))  # x_(j) .. x_(n + 1 - j), 1-based, covers >= level
    lo, hi = (x[j - 1], x[n - j]) if j >= 1 else (x[0], x[-1])
    return float(np.median(x)), float(lo), float(hi)


def ratio_interval(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """`median_interval` of the per-round ratios a_r / b_r of two calls timed in the same rounds."""
    return median_interval(np.asarray(a, float) / np.asarray(b, float), level)


def rounds_of(table, key: str, value: str) -> dict[str, np.ndarray]:
    """A benchmark's long table of rounds (one row per call and round, a `round` column) as {call: its
    `value` in round order}: the arrays `ratio_interval` pairs round by round."""
    return {k: g.sort_values("round")[value].to_numpy() for k, g in table.groupby(key)}
