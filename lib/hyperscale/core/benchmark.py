"""Timing several calls fairly in one process: they take turns round by round, so a slow spell
(another process, a frequency change) hits all alike; the median of the repeats is reported.
Benchmarks print ratios of such medians; absolute times are the machine's."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch


def interleaved_ms(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, float]:
    """Median milliseconds of each call, the calls taking turns for warmup + repeats rounds (no autograd)."""
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
    return {k: float(np.median(v)) for k, v in times.items()}
