"""The routing experiment's measurements."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from handoffq.envs.packet_network import SimResult
from handoffq.envs.routing import boyan_littman_6x6
from handoffq.experiments.common import ExperimentError
from handoffq.experiments.routing.metrics import (
    binned_delivery,
    busiest_bridge,
    recovery_steps,
    sp_saturation_load,
    stays_full_from,
)


def test_recovery_steps_rule() -> None:
    starts = np.arange(11) * 10
    means = np.array([5, 5, 5, 20, 15, 6, 5, 6, 5, 5, 5], float)
    assert recovery_steps(starts, means, 30, threshold=6.0) == 20
    assert recovery_steps(starts, means, 30, threshold=4.0) is None
    means[6] = np.nan  # an empty bin does not count as recovered
    assert recovery_steps(starts, means, 30, threshold=6.0) == 40
    # a degradation that builds up after the failure is waited for, not ignored
    late = np.array([5, 5, 5, 5, 5, 5, 5, 20, 5, 5, 5, 5], float)
    assert recovery_steps(np.arange(12) * 10, late, 30, threshold=6.0) == 50
    assert recovery_steps(np.arange(12) * 10, np.full(12, 5.0), 30, threshold=6.0) == 0


def test_shortest_path_saturation_load() -> None:
    # BL36: router 20 forwards 45.7% of the ordered pairs under shortest paths -> 2.1875
    assert sp_saturation_load(boyan_littman_6x6()) == pytest.approx(2.1875)
    # a path of 3: the middle router serves 4 of the 6 ordered pairs (its own 2 and the 2 that
    # cross it) -> one service per step saturates at 6 / 4 packets per step
    assert sp_saturation_load(nx.path_graph(3)) == pytest.approx(1.5)


def test_busiest_bridge_and_no_bridge() -> None:
    assert busiest_bridge(boyan_littman_6x6()) == (20, 21)
    with pytest.raises(ExperimentError, match="bridge"):
        busiest_bridge(nx.path_graph(4))


def test_binned_delivery_and_stays_full() -> None:
    res = SimResult(birth=np.array([0, 0, 5, 8]), delivered=np.array([4, 12, 9, -1]), hops=np.ones(4, int),
                    lost=np.zeros(4, np.int8), lost_at=np.full(4, -1), refused_at=np.zeros(0, int), in_flight_end=1,
                    scalars=0, messages=0, steps_run=13)
    starts, means = binned_delivery(res, 5, 0, 15)
    assert starts.tolist() == [0, 5, 10]
    assert means[0] == 4 and means[1] == 4 and means[2] == 12
    assert stays_full_from([(1, 0.5), (2, 1.0), (3, 0.9), (4, 1.0), (5, 1.0)]) == 4
    assert stays_full_from([(1, 1.0), (2, 0.9)]) is None
