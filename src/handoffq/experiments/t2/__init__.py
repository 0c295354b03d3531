"""T2: the three error sources of Theorem 1, each along its own axis (paper sections 4 and 5.1).

Every error is the behaviour-weighted RMS distance between the learned ``Q_i(o(x), k)`` and the
latent oracle ``Q*(x, k)`` (exact, on the finite model) *divided by the RMS of Q* itself*
under the same weights (``rel_error``), so scans that change the scale of Q* stay comparable.
Budgets count handoffs (decision epochs), the sample unit of Theorem 1.

1. **Budget** at ``rho = 1`` (tabular IC-Q): ``budget_slope`` is the log-log slope of the mean
   relative error against the budget, ``budget_slope_last`` that of the last segment (a
   flattening tail shows there).
2. **Handoff probability** ``p`` at ``rho = 1`` (a fixed handoff budget, ``p_envs`` parallel
   sample streams so that each keeps the chain's correlation). Each ``p`` uses the primitive
   discount ``gamma_p`` that keeps ``E[gamma_p^tau]`` of a geometric ``tau`` fixed. The mixing
   time is *measured* in the unit of the bound: that of the handoff-level behaviour chain
   (:func:`handoffq.theory.mixing.mixing`, restarts included). In the default workflow family
   a longer invocation moves the artifact further per handoff, so mixing gets *faster* as
   ``p`` falls; the scan therefore runs on the *commit* family
   (:mod:`handoffq.envs.synthetic`), where a long invocation commits the artifact and lowering
   ``p`` slows mixing. ``mixing_spearman`` is the Spearman correlation of relative error and
   measured mixing time over all (p, seed) cells. The **i.i.d. control** repeats each cell
   with every round started from independent draws of the stationary law
   (``rel_error_iid_by_p``); ``markov_excess_by_p`` (Markov minus control) and
   ``mixing_spearman_excess`` say how much of the error growth the slower mixing of the
   sample stream itself explains. ``p_control`` repeats the scan on the workflow family
   (``_workflow`` keys); the second learner's keys carry its suffix (``_tabular``).
3. **Width** of the per-agent MLP (NTK parameterisation, projected SGD,
   :class:`~handoffq.learn.ntk_mlp.NTKMLPEstimator`; Adam as an option) at several ``rho``:
   the error floors at the exact AIS floor (the distance of IC-Q's tabular fixed point from
   Q*). ``floor_gap_by_rho`` = relative error at the widest width minus the relative exact
   floor (``exact_floor_by_rho``); ``floors_ordered`` says whether the widest-width errors
   rank the rhos like the exact floors.

Files: ``cells.jsonl`` (resumable), ``results.csv``, ``summary.json``, ``config.json``,
``t2_scans.png``.
"""

from handoffq.experiments.registry import Experiment, register
from handoffq.experiments.t2.cells import t2_cell, t2_cells
from handoffq.experiments.t2.config import T2Config
from handoffq.experiments.t2.experiment import HEADLINE, run
from handoffq.experiments.t2.summary import summarise

__all__ = ["T2Config", "run", "summarise", "t2_cell", "t2_cells"]

register(Experiment(name="t2", description="T2 (synthetic IC-SMDP): error vs budget, handoff probability and width",
                    config=T2Config, run=run, headline=HEADLINE))
