"""Step-size schedules: the visits_offset kind."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.learn.schedules import StepSize, step_size


def test_visits_offset_starts_at_a0_and_decays_like_a_power() -> None:
    s = StepSize("visits_offset", a0=1.0, t0=20.0, power=0.7)
    v = np.array([1, 2, 20, 10_000])
    a = s(0, v)
    assert a[0] == 1.0 and np.all(np.diff(a) < 0)
    assert a[1] > 0.95  # near a0 for the first ~t0 visits
    assert a[3] == pytest.approx((21 / 10_020) ** 0.7)
    assert step_size(s, 5, 3) == pytest.approx((21 / 23) ** 0.7)


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="schedule"):
        StepSize("offset")  # type: ignore[arg-type]
