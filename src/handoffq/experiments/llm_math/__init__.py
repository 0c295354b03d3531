"""Experiment ``llm-math``: multi-LLM math reasoning (paper section 5.2, Table 1), made able to
fail (issue 11).

Four role agents (commissioner, thinker, checker, editor) route a conversation. With the
simulated backend (the default, labelled SIMULATED in every output) every figure is computed on
held-out test questions (means and standard errors over seeds) and exactly on the simulator's
finite model:

* **Inputs, not results**: Direct and the four workflows are calibrated to Table 1 in closed
  form (:func:`handoffq.llm.simulated.calibrate`).
* **Free choices** (copy fidelity 0.98, a cap of 8 invocations - reaching it ends the task
  unanswered - and the revision and anchoring rules as stated assumptions) are documented in
  :data:`handoffq.llm.simulated.FREE_CHOICES`; ``sensitivity.png`` maps the exact class
  optimum against the best workflow over copy 0.95-1.0 and cap 5-10. ``--preset
  paper-arranged`` (copy 1, cap 5) reproduces the paper's "IC-Q recovers the best workflow" by
  construction and is labelled ARRANGED.
* **Two interfaces**: the paper's 4 bits and 4 bits + remaining budget (the default). The exact
  optimum of each class (:func:`handoffq.envs.llm_math.exact.optimum`, branch and bound), IC-Q
  under each, and the value the smaller interface loses (``interface_value_lost``).
* **IC-Q** is ICQ+ (:mod:`handoffq.learn.replay`): decentralised replay, traced values,
  Boltzmann exploration; only ``(v, tau, R)`` crosses agents, through the audited channel.
* **Baselines at the same LLM-call budget**: UCB1 over the five workflows (IC-Q's training
  calls), CoT with self-consistency at IC-Q's calls per question, Direct, and a clairvoyant
  centralised oracle (an upper bound no router can reach).

Files: ``config.json``, ``results.csv`` (dataset x seed x column), ``learning_curves.csv``,
``summary.json`` (headline keys in :mod:`handoffq.experiments.llm_math.summary`), ``table1.md``,
``sensitivity.png``, ``learning_curves.png``. ``--backend openai|llamacpp`` runs the real
text-environment path (:mod:`handoffq.experiments.llm_math.real`).
"""

from handoffq.experiments.llm_math.config import LLMMathConfig
from handoffq.experiments.llm_math.experiment import HEADLINE, run
from handoffq.experiments.registry import Experiment, register

__all__ = ["HEADLINE", "LLMMathConfig", "run"]

register(Experiment(name="llm-math", description="Multi-LLM math reasoning: four role agents, exact class optima, "
                    "ICQ+ and baselines (Table 1; simulated by default)", config=LLMMathConfig, run=run,
                    headline=HEADLINE))
