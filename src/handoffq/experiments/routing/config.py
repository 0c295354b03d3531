"""The routing experiment's configuration: every option, its help, the presets."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from handoffq.config import ConfigError, ExperimentConfig, option
from handoffq.envs.packet_network import OBS_KINDS
from handoffq.envs.routing import FAMILIES
from handoffq.learn.router_load import ICQLoadConfig

__all__ = ["ABLATIONS", "MAIN_METHODS", "METHODS", "PARTS", "RoutingExperimentConfig"]

MAIN_METHODS = ("ic_q", "shortest_path", "q_routing", "pq_routing", "drq_routing", "cq_routing")
ABLATIONS = ("ic_q_flag", "q_routing_same_obs", "ic_q_alt_step")
METHODS = (*MAIN_METHODS, *ABLATIONS, "random_walk")
PARTS = ("static", "load", "trace", "failure", "random")
RANDOM_FAMILIES = ("erdos_renyi", "barabasi_albert", "watts_strogatz")


@dataclasses.dataclass(frozen=True)
class RoutingExperimentConfig(ExperimentConfig):
    """Routing experiment settings (defaults: the full preset; :meth:`quick` the CI preset)."""

    parts: tuple[str, ...] = option(PARTS, "parts to run", choices=PARTS)
    # ------------------------------------------------------------------ static part
    families: tuple[str, ...] = option(FAMILIES, "graph families of the static part", choices=FAMILIES)
    sizes: tuple[int, ...] = option((20, 100), "graph sizes (routers) of the static part", min=3)
    static_seeds: int = option(5, "graphs (and training seeds) per family and size", min=1)
    static_training: Literal["episodic", "bellman_ford"] = option(
        "episodic", "'episodic' (routes learned from packets between random pairs) or 'bellman_ford' "
        "(every router probes every (destination, neighbour) once per sweep)"
    )
    detain_prob: float = option(0.5, "probability that a packet is detained at a router (the flag routers observe)",
                                min=0.0, max=0.999)
    gamma: float = option(0.99, "discount of the static routing task", above=0.0, max=1.0)
    epsilon: float = option(0.1, "epsilon-greedy exploration over neighbours (static)", min=0.0, max=1.0)
    step_t0: float = option(20.0, "offset t0 of the per-entry step size ((1+t0)/(visits+t0))^power (static)",
                            above=0.0)
    step_power: float = option(0.7, "power of the per-entry step size (static)", above=0.0, max=1.0)
    n_slots: int = option(0, "packets in flight in episodic training (0: one per ordered pair, 1024 to 16384)",
                          min=0)
    budget_per_pair: int = option(8000, "training handoffs per ordered (source, destination) pair", min=1)
    checkpoints: int = option(80, "accuracy checkpoints over the budget", min=1)
    stop_after_full: int = option(
        0, "stop once accuracy was 1.0 at this many consecutive checkpoints (0: train the whole budget)", min=0
    )
    naive_seeds: int = option(5, "seeds (of static-seeds) on which naive Q is also trained", min=0)
    naive_sizes: tuple[int, ...] = option((20, 100), "sizes on which naive Q is also trained", min=3)
    max_sweeps: int = option(400, "sweep cap of the bellman_ford schedule", min=1)
    route_figure: bool = option(True, "train one Barabasi-Albert graph of 50 routers for the learned-routes figure")
    # -------------------------------------------------------- load part (BL36 grid)
    methods: tuple[str, ...] = option(MAIN_METHODS, "routing methods under load", choices=METHODS)
    ablation_methods: tuple[str, ...] = option(
        ABLATIONS, "methods reported beside the headline: IC-Q with the paper's binary flag, Q-routing "
        "given IC-Q's observation, IC-Q with icq-alt-step", choices=METHODS,
    )
    ablation_all_loads: bool = option(True, "run the ablation methods at every load (false: the highest only)")
    loads: tuple[float, ...] = option(
        tuple(round(0.5 + 0.25 * k, 2) for k in range(17)), "offered loads (packets injected per step)", min=0.0
    )
    load_seeds: int = option(20, "seeds (warm-ups and traffic) per load level", min=1)
    icq_obs: Literal["dest_wait", "dest_flag", "dest"] = option(
        "dest_wait", "IC-Q's observation under load: destination + detention length (its position in its own "
        "queue; beyond the paper's binary flag), 'dest_flag' (the paper's flag) or 'dest'", choices=OBS_KINDS,
    )
    icq: ICQLoadConfig = option(ICQLoadConfig(), "IC-Q routers under load")
    icq_alt_step: float = option(0.5, "step size of the sensitivity method 'ic_q_alt_step'", above=0.0, max=1.0)
    q_eta: float = option(0.7, "learning rate of Q-routing, PQ and DRQ (netsim1.c's default eta)", above=0.0,
                          max=1.0)
    pq_beta: float = option(0.7, "PQ-routing recovery learning rate beta", above=0.0, max=1.0)
    pq_gamma: float = option(0.9, "PQ-routing recovery decay gamma", above=0.0, max=1.0)
    cq_decay: float = option(0.95, "CQ-routing per-step confidence decay lambda", above=0.0, max=1.0)
    warm_load: float = option(1.0, "load of the warm-up every learner starts with, from empty tables", min=0.0)
    warm_steps: int = option(5000, "steps of the warm-up", min=0)
    load_steps: int = option(20000, "steps at each load level after the warm-up", min=1)
    measure_steps: int = option(10000, "last steps of a load level whose packets are measured", min=1)
    capacity: int = option(1000, "most packets in the network (netsim1.c's maxpackets)", min=1)
    ttl: int = option(64, "hops after which a packet is dropped", min=1)
    detail_methods: tuple[str, ...] = option(MAIN_METHODS, "methods of the load trace and the link failure",
                                             choices=METHODS)
    trace_loads: tuple[float, ...] = option((2.5, 3.5, 2.5), "the loads of the load trace, one per phase", min=0.0)
    trace_phase_steps: int = option(12000, "steps per phase of the load trace (a phase's level: its second half)",
                                    min=2)
    fail_load: float = option(1.0, "load of the link-failure run", min=0.0)
    fail_after: int = option(2000, "steps after the warm-up at which the busiest bridge fails", min=1)
    fail_steps: int = option(10000, "steps after the failure", min=4)
    bin_steps: int = option(250, "bin of the failure and trace curves (steps of delivery)", min=1)
    tol: float = option(0.25, "recovered = within (1 + tol) of the reference level", above=0.0)
    hold: int = option(3, "further bins that must also be within the threshold", min=0)
    random_families: tuple[str, ...] = option(RANDOM_FAMILIES, "random graph families under load",
                                              choices=RANDOM_FAMILIES)
    random_n: int = option(36, "routers of the random graphs under load", min=3)
    random_load_factors: tuple[float, ...] = option(
        (0.5, 1.0, 1.5), "loads on the random graphs, as multiples of shortest paths' saturation load", above=0.0
    )
    random_seeds: int = option(5, "random graphs per family under load", min=1)
    random_methods: tuple[str, ...] = option(MAIN_METHODS, "methods on the random graphs", choices=METHODS)

    @classmethod
    def quick(cls) -> RoutingExperimentConfig:
        """The CI-sized preset: fewer seeds, three loads, shorter runs, early stop of the static
        training once accuracy was 1.0 at three consecutive checkpoints."""
        return cls(
            static_seeds=2,
            stop_after_full=3,
            naive_seeds=1,
            naive_sizes=(20,),
            methods=("ic_q", "shortest_path", "q_routing", "drq_routing"),
            ablation_all_loads=False,
            loads=(1.0, 2.0, 3.0),
            load_seeds=3,
            warm_steps=4000,
            load_steps=10000,
            measure_steps=5000,
            detail_methods=("ic_q", "shortest_path", "q_routing"),
            trace_phase_steps=8000,
            fail_steps=6000,
            random_seeds=1,
            random_load_factors=(1.5,),
            random_methods=("ic_q", "shortest_path", "q_routing"),
        )

    @classmethod
    def variants(cls) -> dict[str, dict[str, Any]]:
        """``paper-flag``: IC-Q observes the paper's binary detained flag under load;
        ``bellman-ford``: the probe schedule for the static part."""
        return {"paper-flag": {"icq_obs": "dest_flag"}, "bellman-ford": {"static_training": "bellman_ford"}}

    def validate(self) -> None:
        """Cross-field checks (one-line errors naming the option)."""
        if self.measure_steps > self.load_steps:
            raise ConfigError(f"option --measure-steps ({self.measure_steps}) must be <= --load-steps "
                              f"({self.load_steps})")
        if self.icq.estimator == "factored" and self.icq.gamma != 1.0:
            raise ConfigError(f"option --icq.gamma: the factored estimator needs 1, got {self.icq.gamma}")
        if self.icq.estimator == "table" and self.icq_obs == "dest_wait":
            raise ConfigError("option --icq.estimator: a plain table needs --icq-obs dest or dest_flag")
        if len(self.trace_loads) < 2:
            raise ConfigError("option --trace-loads: give at least two phases")
        if "failure" in self.parts and "shortest_path" not in self.detail_methods:
            raise ConfigError("option --detail-methods: the failure part needs shortest_path (its reference level)")
