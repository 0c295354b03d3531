"""The routing experiment's figures, written for readers who have not read the papers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from handoffq.experiments.plotting import SIMULATED_TAG, pyplot, save
from handoffq.experiments.routing.load import LABELS

__all__ = ["write_figures"]

_FAMILY = {"erdos_renyi": "Erdos-\nRenyi", "barabasi_albert": "Barabasi-\nAlbert", "watts_strogatz": "Watts-\nStrogatz"}
_ABLATION_STYLE = {"ic_q_flag": ":", "q_routing_same_obs": "--", "ic_q_alt_step": "-."}


def _label(m: str) -> str:
    return LABELS.get(m, m)


def _colours(methods: list[str]) -> dict[str, Any]:
    cmap = pyplot().get_cmap("tab10")
    order = list(LABELS)
    return {m: cmap(order.index(m) % 10 if m in order else 9) for m in methods}


def _legend_right(ax: Any) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _log_y(ax: Any) -> None:
    """A log y axis labelled with plain numbers (1, 2, 5, 10, 20, ...)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


_BINNED_Y = "Mean delivery time of packets\ndelivered in each bin (steps, log scale)"
_RANGE_NOTE = "lines: mean over seeds; bands: range over seeds"


def _finish(fig: Any, ax: Any, path: Path, xlabel: str, ylabel: str, title: str, **title_kw: Any) -> Path:
    """Log-scale y axis, the labels, the title (font size 10), the legend on the right; save to ``path``."""
    _log_y(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10, **title_kw)
    _legend_right(ax)
    return save(fig, path)


def _curves_with_band(ax: Any, d: dict[str, Any], labels: dict[str, str]) -> None:
    """Each method's mean curve over seeds, and the range of its seeds' curves as a band."""
    col = _colours(list(d["curves"]))
    for m, c in d["curves"].items():
        ax.plot(d["steps"], c, color=col[m], lw=1.3, label=labels.get(m, _label(m)))
        if "low" in d and m in d["low"]:
            low = np.asarray(d["low"][m], float)
            ax.fill_between(d["steps"], low, np.asarray(d["high"][m], float), color=col[m], alpha=0.15, lw=0)


def delivery_vs_load(out: Path, d: dict[str, Any], saturation: float | None) -> Path:
    """Mean delivery time against offered load, one line and 95% CI band per method."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    col = _colours(list(d["curves"]))
    single = 0
    for m, pts in d["curves"].items():
        if not pts:
            continue
        lo, mu, low, high = (np.asarray(v, float) for v in zip(*pts))
        low = np.maximum(low, 1.0)  # a delivery takes at least one step (t-intervals of few seeds reach below)
        ls = _ABLATION_STYLE.get(m, "-")
        if len(lo) == 1:  # a method run at one load only (the ablations in the quick preset), nudged apart
            single += 1
            ax.errorbar(lo + 0.04 * single, mu, yerr=[mu - low, high - mu], fmt="D", ms=5, color=col[m],
                        capsize=3, label=_label(m) + f" (load {lo[0]:g} only)")
            continue
        ax.plot(lo, mu, ls, marker="o", ms=3, color=col[m], label=_label(m))
        ax.fill_between(lo, low, high, color=col[m], alpha=0.15, lw=0)
    if saturation is not None:
        ax.axvline(saturation, color="0.4", ls="--", lw=1)
        ax.annotate("fixed shortest paths\nbecome overloaded", (saturation, 0.97), xycoords=("data", "axes fraction"),
                    xytext=(4, 0), textcoords="offset points", va="top", fontsize=8, color="0.3")
    return _finish(fig, ax, out / "delivery_vs_load.png", "Offered load (new packets injected per time step)",
                   "Mean time to deliver a packet\n(time steps, log scale)",
                   f"36-router network of Boyan & Littman: delivery time as load grows {SIMULATED_TAG}\n"
                   "lines: mean over seeds; bands and bars: 95% confidence interval over seeds")


def load_trace(out: Path, d: dict[str, Any]) -> Path:
    """Delivery time over a run whose load steps up and back down."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    p, loads = d["phase_steps"], d["loads"]
    for k, lo in enumerate(loads):
        ax.axvspan(k * p, (k + 1) * p, color="0.92" if k % 2 else "white", lw=0)
        ax.text((k + 0.5) * p, 1.02, f"load {lo:g}", transform=ax.get_xaxis_transform(), ha="center", fontsize=9)
    _curves_with_band(ax, d, {})
    ax.set_xlim(0, p * len(loads))
    return _finish(fig, ax, out / "load_trace.png", "Time since the warm-up (steps)", _BINNED_Y,
                   f"Load steps up, then back down: does each method recover? {SIMULATED_TAG}\n{_RANGE_NOTE}", pad=18)


def failure(out: Path, d: dict[str, Any]) -> Path:
    """Delivery time before and after the busiest link fails."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    ref, tol = d["shortest_path_level"], d["tol"]
    ax.axhspan(ref, ref * (1 + tol), color="tab:green", alpha=0.12, lw=0,
               label=f"within {tol:.0%} of shortest paths\nrecomputed after the failure")
    _curves_with_band(ax, d, {"shortest_path": "Shortest paths (recomputed by an oracle)"})
    ax.axvline(0, color="k", ls="--", lw=1)
    ax.annotate(f"link {d['edge'][0]}-{d['edge'][1]} fails", (0, 0.97), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", va="top", fontsize=8)
    return _finish(fig, ax, out / "failure.png", "Time relative to the link failure (steps)", _BINNED_Y,
                   f"The busiest link between the two halves fails at load {d['load']:g} {SIMULATED_TAG}\n"
                   f"{_RANGE_NOTE}")


def learned_routes(out: Path, d: dict[str, Any]) -> Path:
    """Each router's learned next hop towards one destination, drawn on the graph."""
    plt = pyplot()
    g = nx.Graph()
    g.add_edges_from(tuple(e) for e in d["edges"])
    pos = nx.spring_layout(g, seed=0)
    dest = d["dest"]
    good = [(i, k) for i, k in enumerate(d["next_hop"]) if i != dest and d["on_shortest_path"][i]]
    bad = [(i, k) for i, k in enumerate(d["next_hop"]) if i != dest and not d["on_shortest_path"][i]]
    fig, ax = plt.subplots(figsize=(7.5, 7))
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="0.8", width=0.8)
    for arrows, colour in ((good, "tab:blue"), (bad, "tab:red")):
        if arrows:
            nx.draw_networkx_edges(nx.DiGraph(arrows), pos, ax=ax, edge_color=colour, arrows=True, arrowsize=12,
                                   width=1.6)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=60, node_color="white", edgecolors="0.3")
    nx.draw_networkx_nodes(g, pos, nodelist=[dest], ax=ax, node_size=260, node_color="gold", edgecolors="k")
    handles = [plt.Line2D([], [], color="tab:blue", lw=2, label="learned next hop, on a shortest path"),
               plt.Line2D([], [], color="tab:red", lw=2, label="learned next hop, not on a shortest path"),
               plt.Line2D([], [], marker="o", ls="", color="gold", mec="k", ms=10,
                          label=f"destination (router {dest})"),
               plt.Line2D([], [], color="0.8", lw=1, label="link")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=2, fontsize=8, frameon=False)
    ax.set_title(f"Where each router learned to send packets for router {dest} (gold)\n"
                 f"random 50-router graph, routes learned from packets alone {SIMULATED_TAG}\n"
                 f"{d['accuracy']:.0%} of all (source, destination) pairs follow a shortest path", fontsize=10)
    ax.axis("off")
    return save(fig, out / "learned_routes.png")


def static_accuracy(out: Path, rows: list[dict[str, Any]]) -> Path:
    """Routing accuracy per graph family and size: IC-Q, naive Q, random walk."""
    plt = pyplot()
    cells = list(dict.fromkeys((r["family"], r["n"]) for r in rows))
    keys = (("accuracy", "IC-Q (learned from packets)"), ("naive_accuracy", "naive independent Q, same handoffs"),
            ("random_walk_accuracy", "random walk"))
    fig, ax = plt.subplots(figsize=(10, 4.6))
    w = 0.8 / len(keys)
    naive_vals: list[float] = []
    for j, (k, label) in enumerate(keys):
        vals = [np.mean([r[k] for r in rows if (r["family"], r["n"]) == c and k in r] or [np.nan]) for c in cells]
        if k == "naive_accuracy":
            naive_vals = vals
        ax.bar(np.arange(len(cells)) + j * w, vals, w, label=label)
    ax.set_xticks(np.arange(len(cells)) + w, [f"{_FAMILY.get(f, f)}\n{n} routers" for f, n in cells], fontsize=8)
    if any(np.isnan(v) for v in naive_vals):
        ax.text(0.0, -0.27, "no orange bar: naive Q was not trained at that size "
                "(the quick preset trains it at 20 routers only)", transform=ax.transAxes, fontsize=8, color="0.3")
    ax.set_ylabel("Fraction of (source, destination)\npairs routed on a shortest path")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Static routing: accuracy of the learned routes per graph family {SIMULATED_TAG}", fontsize=10)
    _legend_right(ax)
    return save(fig, out / "accuracy_per_family.png")


def write_figures(out: Path, figs: dict[str, Any], static_rows: list[dict[str, Any]],
                  saturation: float | None) -> list[str]:
    """Every figure whose data is present; returns the file names."""
    written = []
    if static_rows:
        written.append(static_accuracy(out, static_rows))
    if "delivery_vs_load" in figs:
        written.append(delivery_vs_load(out, figs["delivery_vs_load"], saturation))
    if "load_trace" in figs:
        written.append(load_trace(out, figs["load_trace"]))
    if "failure" in figs:
        written.append(failure(out, figs["failure"]))
    if "learned_routes" in figs:
        written.append(learned_routes(out, figs["learned_routes"]))
    return [p.name for p in written]
