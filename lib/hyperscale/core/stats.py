"""Intervals, equivalence and power for comparisons of trained runs: the numbers core.claims' decision
rule reads.

A comparison is `Arms`: the per-seed scores of two sides, a (the side the paper says is better) and
b, in one metric. Its estimate is the mean difference a - b with a t interval:

- **paired** by seed where the design pairs runs (the same seed gives both sides the same data order
  and augmentation): the t interval of the per-seed differences (`scipy.stats.ttest_rel`);
- otherwise **Welch's** interval (`scipy.stats.ttest_ind(equal_var=False)`), which does not assume
  the two sides vary alike.

Which library and why. scipy.stats gives both intervals exactly (its `confidence_interval` of a t-test
result) and is pinned already; statsmodels gives the power calculations (`TTestPower`,
`TTestIndPower`: the noncentral t, where the two-quantile formula is an approximation that is off by
a seed or more at n = 3) and is what a reader would check them with. rliable's stratified bootstrap
is made for many tasks of few runs each; on one task with 3-10 seeds a percentile bootstrap covers
less than its nominal level (its interval is drawn from a handful of values), so the t interval is the
honest one here.

What the interval counts. The seed-to-seed variation of training, both sides' (each seed a fresh
initialisation and data order). Every model is scored on the same test images, so the test set's
sampling error is shared by both sides of a difference: it moves a side's level (which no verdict
reads) more than the difference, of which only the image-by-method interaction is left; that part is
not in the interval. A verdict that needs it would need per-image scores and a hierarchical
bootstrap over seeds and images; none of the study's comparisons is decided that way.

Power: the smallest detectable effect (`Estimate.mde`) is the difference a two-sided test at level
alpha would detect with probability `POWER` from these seeds and this spread; `seeds_for` inverts it.
Both read statsmodels' power curves; they solve them with scipy's brentq and a bisection over n, as
statsmodels' own solver returns NaN (with a warning) for large standardised effects.
Families ("at every phi") use Bonferroni-adjusted levels, so that all of a family's intervals hold
together with at least the family's level (`family_level`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95  # every interval a trained verdict reads
POWER = 0.8   # of the smallest detectable effect and of the seeds a comparison needs


@dataclass(frozen=True)
class Arms:
    """Per-seed scores of the two sides of a comparison, a minus b. `scale` turns a score into `unit`
    (Dice in [0, 1] x 100 = Dice points); `paired`: a[i] and b[i] share seed i's data order."""
    a: tuple[float, ...]
    b: tuple[float, ...]
    paired: bool
    unit: str
    scale: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "a", tuple(float(x) for x in self.a))
        object.__setattr__(self, "b", tuple(float(x) for x in self.b))
        if self.paired and len(self.a) != len(self.b):
            raise ValueError(f"paired arms need one value per seed on both sides; got {len(self.a)} and {len(self.b)}")

    @classmethod
    def by_seed(cls, a, b, unit: str, scale: float = 1.0) -> "Arms":
        """Paired arms from two per-seed Series (index: seed), on the seeds both have, in seed order."""
        seeds = sorted(set(a.index) & set(b.index))
        return cls(tuple(a.loc[seeds]), tuple(b.loc[seeds]), True, unit, scale)

    def flipped(self) -> "Arms":
        """The same comparison the other way round, b - a."""
        return Arms(self.b, self.a, self.paired, self.unit, self.scale)

    @property
    def diff(self) -> float:
        """a - b in the arms' unit: the difference of the two means (of the per-seed differences, if paired)."""
        return self.scale * (float(np.mean(self.a)) - float(np.mean(self.b))) if self.a and self.b else math.nan


@dataclass(frozen=True)
class Estimate:
    """a - b in the arms' unit: mean, interval at `level` (NaN where it cannot be computed), seeds per
    side, the spread the test uses (SD of the per-seed differences when paired, else the two sides'
    pooled SD) and the smallest difference detectable at POWER (NaN as the interval)."""
    diff: float
    low: float
    high: float
    level: float
    n: tuple[int, int]
    sd: float
    mde: float
    paired: bool
    unit: str

    @property
    def decided(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))

    @property
    def text(self) -> str:
        """'+1.23 [-0.45, +2.91]', or the difference alone with the seeds where there is no interval."""
        if not self.decided:
            return f"{self.diff:+.2f} (no interval: {self.n[0]} and {self.n[1]} seeds)"
        return f"{self.diff:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else math.nan


def _power(paired: bool, n: tuple[float, float], alpha: float):
    """The power of a two-sided t-test at level alpha with n seeds per side, as a function of the standardised
    effect (statsmodels' noncentral t)."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    def power(d: float) -> float:
        p = float(TTestPower().power(effect_size=d, nobs=n[0], alpha=alpha) if paired else
                  TTestIndPower().power(effect_size=d, nobs1=n[0], ratio=n[1] / n[0], alpha=alpha))
        return 1.0 if math.isnan(p) else p  # NaN: the noncentral t at a noncentrality far past any doubt
    return power


def smallest_detectable(sd: float, n: tuple[int, int], paired: bool, alpha: float) -> float:
    """The difference a two-sided t-test at level alpha detects with probability POWER: the root of its
    power curve (statsmodels' power; scipy's brentq, which unlike statsmodels' own solver never gives up)."""
    from scipy.optimize import brentq

    if math.isnan(sd) or min(n) < 2:
        return math.nan
    if sd == 0:
        return 0.0
    power = _power(paired, n, alpha)
    return float(brentq(lambda d: power(d) - POWER, 1e-9, 1e3)) * sd


def estimate(arms: Arms, level: float = LEVEL) -> Estimate:
    """a - b with its t interval at `level` (module docstring)."""
    from scipy.stats import ttest_ind, ttest_rel

    a, b = np.asarray(arms.a) * arms.scale, np.asarray(arms.b) * arms.scale
    n = (len(a), len(b))
    diff = float(a.mean() - b.mean()) if min(n) else math.nan
    if arms.paired:
        d = a - b
        sd = _sd(d)
    else:
        sd = math.sqrt((_sd(a) ** 2 + _sd(b) ** 2) / 2) if min(n) > 1 else math.nan
    low = high = math.nan
    if min(n) > 1 and sd == 0:  # no spread at all: the interval is the point
        low = high = diff
    elif min(n) > 1:
        test = ttest_rel(a, b) if arms.paired else ttest_ind(a, b, equal_var=False)
        ci = test.confidence_interval(confidence_level=level)
        low, high = float(ci.low), float(ci.high)
    return Estimate(diff, low, high, level, n, sd, smallest_detectable(sd, n, arms.paired, 1 - level), arms.paired,
                    arms.unit)


def family_level(k: int, level: float = LEVEL) -> float:
    """The level of each of k intervals that hold all together with at least `level` (Bonferroni)."""
    return 1 - (1 - level) / k


def seeds_for(sd: float, effect: float, paired: bool, level: float = LEVEL) -> float:
    """Seeds per side a two-sided test at 1 - level needs to detect `effect` with probability POWER, given
    the spread `sd`: the fewest n whose power (statsmodels) reaches POWER, by bisection over n; inf where sd
    is unknown or not even 100 000 seeds would do."""
    if math.isnan(sd) or effect <= 0:
        return math.inf
    if sd == 0:
        return 2.0
    enough = lambda n: _power(paired, (n, n), 1 - level)(effect / sd) >= POWER  # noqa: E731
    if enough(2):
        return 2.0
    if not enough(100_000):
        return math.inf
    low, high = 2, 100_000  # enough(low) is False, enough(high) True: power grows with n
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return float(high)


def move_interval(move: float, sd: float, df: float, level: float = LEVEL) -> tuple[float, float]:
    """The interval of one seed's change of a gap when its budget doubles, with `sd` the change's
    standard deviation (estimated with `df` degrees of freedom): the t distribution's (scipy)."""
    from scipy.stats import t

    if math.isnan(sd) or df < 1:
        return math.nan, math.nan
    low, high = t.interval(level, df, loc=move, scale=sd) if sd > 0 else (move, move)
    return float(low), float(high)
