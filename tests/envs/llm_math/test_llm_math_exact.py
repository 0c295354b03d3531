"""The exact optimiser (branch and bound) against exhaustive search, the bounds, the arranged
preset, and the self-consistency model."""

import numpy as np
import pytest

from handoffq.envs.llm_math.exact import (
    brute_force_optimum,
    clairvoyant,
    evaluate,
    hidden_table,
    optimum,
    perfect_recall_optimum,
)
from handoffq.envs.llm_math.workflows import WORKFLOWS, equivalent_workflows, workflow_table
from handoffq.llm.simulated import (
    Hidden,
    calibration,
    draw_hidden,
    sc_expected_accuracy,
    sc_simulate,
)


@pytest.mark.parametrize(("ds", "copy"), [("mathqa", 0.98), ("mmlu-elem", 1.0)])
@pytest.mark.parametrize(("interface", "cap"), [("bits4", 5), ("bits4", 6), ("budget", 5), ("budget", 6)])
def test_branch_and_bound_equals_exhaustive_search(ds: str, copy: float, interface: str, cap: int) -> None:
    hid = hidden_table(calibration(ds, copy))
    bb = optimum(hid, cap, 0.0, interface)
    bf = brute_force_optimum(hid, cap, 0.0, interface)
    assert bb.value == pytest.approx(bf.value, abs=1e-12)
    assert bb.calls == pytest.approx(bf.calls, abs=1e-9)
    assert evaluate(bb.table, hid, cap, 0.0, interface)["accuracy"] == pytest.approx(bb.accuracy)


def test_bounds_are_ordered() -> None:
    hid = hidden_table(calibration("mmlu-hs"))
    wf = max(evaluate(workflow_table(w), hid, 8)["accuracy"] for w in WORKFLOWS)
    o4 = optimum(hid, 8, 0.0, "bits4").accuracy
    ob = optimum(hid, 8, 0.0, "budget").accuracy
    pr = perfect_recall_optimum(hid, 8)["accuracy"]
    cv = clairvoyant(hid, 8)["accuracy"]
    assert wf <= o4 + 1e-12 <= ob + 2e-12 <= pr + 3e-12 <= cv + 4e-12


def test_paper_arranged_preset_makes_a_workflow_optimal() -> None:
    """ARRANGED: copy 1 and cap 5 (the paper's claim holds by construction)."""
    for ds, wf in (("mathqa", "comb_e"), ("mmlu-hs", "comb_e"), ("mmlu-elem", "cot")):
        hid = hidden_table(calibration(ds, 1.0))
        o = optimum(hid, 5, 0.0, "budget")
        assert wf in equivalent_workflows(o.table, o.visited, "budget", 5)


def test_default_preset_optimum_is_no_workflow() -> None:
    hid = hidden_table(calibration("mathqa"))
    o = optimum(hid, 8, 0.0, "budget")
    assert equivalent_workflows(o.table, o.visited, "budget", 8) == []


def test_self_consistency_model() -> None:
    p = calibration("mmlu-hs")
    assert sc_expected_accuracy(p, 1, 4) == pytest.approx(p.think * p.copy, abs=1e-9)
    assert sc_expected_accuracy(p, 5, 4) > sc_expected_accuracy(p, 3, 4) > p.think * p.copy
    qids = [f"q{i}" for i in range(4000)]
    hs = [draw_hidden(p, q, 3) for q in qids]
    got = sc_simulate(p, hs, qids, [4] * len(qids), 5, 3).mean()
    exp = sc_expected_accuracy(p, 5, 4)
    assert abs(got - exp) < 4 * np.sqrt(exp * (1 - exp) / len(qids))
    # a question whose editor miscopies is never answered right
    h = Hidden(True, True, False, True, False, True, True, True, True)
    assert not sc_simulate(p, [h], ["x"], [4], 5, 0)[0]
