"""Experiment ``cpu`` (paper section 5.3): six adaptable agents program a simulated CPU.

**The task as the paper states it** (:mod:`handoffq.envs.cpu`): an episode is (initial memory,
target memory); no opcode or program is given to any agent; each agent observes memory, target
and the datapath registers *with the values in them*, and nothing the environment computed about
correctness; the kind of task (MAX, MIN, ADD, DIFF, SWAP; FIB available) decides which units
must run in which order, and is never observed. A generic potential-based shaping (cells
matched, target values held in registers) leaves every policy's ranking unchanged.

**Learners** (:mod:`handoffq.experiments.cpu.team`): neural IC-Q per agent (its own successor
and local-action MLPs over a fixed feature map of its own observation; replay of its own
updates), and the baselines: a memorising tabular team over raw values, the fixed pipeline with
learned local actions, a centralised learner that sees the whole state, random.

**Design** (decided before the held-out runs): for each training fraction ``f`` and seed, every
method trains on tasks whose every memory and target value lies in ``[0, ceil(f V))`` and is
evaluated greedily, at ``checkpoints`` points of its budget, on fresh tasks of that part
(*seen*) and on tasks whose every value lies in ``[ceil(f V), V)`` (*unseen*), the same number
per kind. The headline ``unseen_accuracy`` is IC-Q's mean over seeds at ``f = 0.2`` after the
full budget. ``pipeline_ceiling_unseen_accuracy`` is the share of unseen tasks any fixed-pipeline
team could solve at all.

**Encoding** (``--inputs relations --value-transform relative``): the network of an agent reads
its valid bits and every pairwise difference of its own values, each value divided by the
largest value in its block. This is a feature map of the agent's own view (no opcode, no
correctness flag, nothing of another agent); it is scale-free by design, an inductive bias that
the generalisation to unseen integers leans on. Measured in the research prototype (quick preset,
seed 0, unseen accuracy at 20%): relations + relative 0.85, features + relative 0.72, relations +
log 0.50, relations + linear 0.21, features + linear 0.11.

``summary.json`` (definitions in :mod:`handoffq.experiments.cpu.summary`): ``unseen_accuracy``,
``seen_accuracy``, per-kind (``unseen_by_kind``), per-seed (``*_by_seed``) and interval
(``*_ci95``; one seed: ``*_ci95_tasks``) figures for IC-Q and, prefixed by name, every baseline
(``memorising_unseen_accuracy``, ``fixed_pipeline_unseen_accuracy``,
``centralised_unseen_accuracy``, ``random_unseen_accuracy``); ``accuracy_by_fraction``;
``curve`` (learning curves with bands); ``opcode_given`` (false) and ``obs_contains_values``
(true), also in ``config.json``. Files: ``cells.jsonl`` (resumable), ``results.csv``,
``summary.json``, ``config.json``, ``learning_curve.png``, ``accuracy_by_fraction.png``,
``methods_at_20_percent.png``.
"""

from handoffq.experiments.cpu.cells import cpu_cell, cpu_cells
from handoffq.experiments.cpu.config import CPUExperimentConfig
from handoffq.experiments.cpu.experiment import HEADLINE, run
from handoffq.experiments.cpu.summary import summarise
from handoffq.experiments.registry import Experiment, register

__all__ = ["CPUExperimentConfig", "cpu_cell", "cpu_cells", "run", "summarise"]

register(Experiment(
    name="cpu",
    description="six adaptable agents program a simulated CPU from (memory, target) values; unseen integers",
    config=CPUExperimentConfig,
    run=run,
    headline=HEADLINE,
))
