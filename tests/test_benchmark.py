"""core.benchmark: interleaved timing and the intervals the timing claims read."""
import numpy as np
import pytest

from hyperscale.core.benchmark import interleaved_ms, interleaved_rounds, median_interval, ratio_interval


def test_median_interval_known_answers():
    # n = 30: the binomial(30, 1/2) 2.5 % quantile is 10, so x_(10) .. x_(21) (1-based) covers >= 95 %
    assert median_interval(np.arange(1, 31)) == (15.5, 10.0, 21.0)
    assert median_interval([5, 1, 3, 2, 4]) == (3.0, 1.0, 5.0)  # too few for 95 %: the whole range
    assert median_interval([2.0]) == (2.0, 2.0, 2.0)


def test_median_interval_covers_the_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = [lo <= np.log(2) <= hi for lo, hi in (median_interval(rng.exponential(size=30))[1:] for _ in range(2000))]
    assert 0.93 <= np.mean(hits) <= 0.98


def test_ratio_interval_pairs_the_rounds():
    a, b = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])  # every round 2x, whatever the round's speed
    assert ratio_interval(a, b) == (2.0, 2.0, 2.0)


def test_interleaved_rounds_time_every_call_each_round():
    t = interleaved_rounds({"a": lambda: sum(range(100)), "b": lambda: None}, repeats=4, warmup=1)
    assert set(t) == {"a", "b"} and all(len(v) == 4 and (v >= 0).all() for v in t.values())
    assert set(interleaved_ms({"a": lambda: None}, 2, 0)) == {"a"}
    with pytest.raises(ValueError, match="repeats >= 1"):
        interleaved_rounds({"a": lambda: None}, 0, 0)
