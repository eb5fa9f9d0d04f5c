"""From rule hits to one `puntaje` per transaction and a `decision`.

A rule hit scores `weight * (1 - 0.5 / severity)`: half the rule's weight just past its
threshold, approaching the full weight far past it. A transaction hit by several rules
combines them as a noisy-OR, `1 - prod(1 - score)`, so every extra rule raises the score
and it stays in [0, 1). Weights are a rule's trust (roughly its precision in backtests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rule_score(weight: float, severity: pd.Series | np.ndarray | float):
    """Score of one rule hit; severity < 1 (not past the threshold) counts as 1.

    A threshold configured as 0 makes a rule's severity infinite (x / 0): that is as far
    past the threshold as it gets, so it scores the full weight; NaN counts as 1.
    """
    severity = np.nan_to_num(np.asarray(severity, dtype="float64"), nan=1.0, posinf=np.inf)
    severity = np.maximum(severity, 1.0)
    return weight * (1.0 - 0.5 / severity)


def combine(scores: pd.Series) -> float:
    """Noisy-OR of independent rule scores."""
    return float(1.0 - np.prod(1.0 - np.asarray(scores, dtype="float64")))


def decide(score: pd.Series | float, block_at: float):
    """'block' at or above `block_at`, else 'review'."""
    return np.where(np.asarray(score) >= block_at, "block", "review")
