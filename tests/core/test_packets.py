"""The packet-team interface: views select rows; the base team refuses the IC-Q calls."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.core.packets import PacketTeam, PacketView


def test_view_select_keeps_every_field_aligned() -> None:
    v = PacketView(*(np.arange(4) + 10 * k for k in range(9)))
    sub = v.select(np.array([True, False, True, False]))
    assert len(sub) == 2 and sub.slot.tolist() == [0, 2] and sub.position.tolist() == [80, 82]
    assert v.select(np.array([3])).dest.tolist() == [33]


def test_base_team_is_not_an_icq_team() -> None:
    team = PacketTeam()
    assert team.replies is False and team.scalars == 0
    with pytest.raises(NotImplementedError):
        team.value(np.zeros(1, int), np.zeros((1, 1), int), np.ones((1, 1), bool))
    with pytest.raises(NotImplementedError):
        team.receive(0, [])
