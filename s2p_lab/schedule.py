"""When things happen in a run: the learning rate's schedule, the adversarial terms' ramp, and how
many steps fit a time budget (``s2p train --max-minutes M --fit-schedule``)."""

from __future__ import annotations

import math

__all__ = ["ScheduleFitter", "gan_weight", "lr_scale"]


def lr_scale(step: int, warmup: int, horizon: int, end: float) -> float:
    """Linear warm-up, then a cosine from 1 to ``end`` at ``horizon``; ``end`` after it."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * progress))


def gan_weight(step: int, start: int) -> float:
    """0 before ``start``, then a ramp to 1 over ``start`` steps (at once when ``start`` is 0)."""
    if step < start:
        return 0.0
    return min(1.0, (step - start + 1) / max(1, start))


class ScheduleFitter:
    """How many steps fit a time budget, from the speed of the run's own steps.

    It times the steps after ``measure_from`` (where the adversarial terms join, since they slow a
    step) and the first two of the call (start-up: workers, kernel selection), and decides once
    the window holds at least ``min_steps`` steps and ``window_share`` of the budget, or half of
    the budget is spent. The answer keeps ``margin`` of the remaining time free for checkpoints,
    sample grids and the final weights.
    """

    def __init__(self, budget: float, first_step: int, measure_from: int = 0, *, min_steps: int = 4,
                 window_share: float = 0.1, margin: float = 0.08) -> None:
        self.budget, self.min_steps, self.window_share, self.margin = budget, min_steps, window_share, margin
        self.window_start = max(first_step + 2, measure_from + 1)
        self.start_step: int | None = None
        self.start_time = 0.0
        self.steps: int | None = None  # the answer, once decided

    def observe(self, step: int, elapsed: float) -> bool:
        """Record that ``step`` steps are done after ``elapsed`` seconds; True once decided."""
        if self.start_step is None and step >= self.window_start:
            self.start_step, self.start_time = step, elapsed
        if self.start_step is not None:
            done, spent = step - self.start_step, elapsed - self.start_time
            ready = done >= self.min_steps and spent >= self.window_share * self.budget
        else:
            done, spent, ready = 0, 0.0, False
        if not ready and elapsed < 0.5 * self.budget:
            return False
        if done > 0 and spent > 0:
            per_step = spent / done
        else:  # the window never opened: the call's average so far
            per_step = elapsed / max(step, 1)
        remaining = max(0.0, self.budget - elapsed) * (1.0 - self.margin)
        self.steps = step + int(remaining / per_step)
        return True
