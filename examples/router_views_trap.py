"""The views trap, caught: a last agent that cannot see what its reward depends on.

A four-agent document pipeline (``handoffq.router.demo``): classifier -> summariser ->
checker -> finisher, each routing after its work. Trained twice: once with a finisher that
sees the document's state, once with a "blind" finisher that sees nothing. The blind one
learns a routing worse than the fixed full chain; the router warns about it (ViewWarning)
and the evaluation against fixed routings shows it, with confidence intervals.
Run: ``python examples/router_views_trap.py`` (offline, well under a minute).
"""

from __future__ import annotations

import warnings

from handoffq.router import ViewWarning
from handoffq.router.demo import FULL_CHAIN, build_router, run_doc
from handoffq.router.evaluate import FixedRouting, RoutingWorseWarning, evaluate
from handoffq.router.routes import format_routes


def train(finisher: str) -> tuple[object, list[str]]:
    """Train the pipeline with this finisher view; return the router and the view warnings."""
    router = build_router(finisher, seed=0)  # type: ignore[arg-type]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ViewWarning)
        for seed in range(3000):
            task = router.start_task()
            task.finish(run_doc(seed, task.next))  # run_doc calls task.next after each agent's work
    return router, [str(w.message) for w in caught if issubclass(w.category, ViewWarning)]


def main() -> None:
    """Train informed and blind, print warnings, routes and the evaluation against fixed routings."""
    for finisher in ("informed", "blind"):
        router, found = train(finisher)
        print(f"\n=== finisher view: {finisher} ===")
        print(f"view warnings during training: {len(found)}")
        for msg in found[:1]:
            print("  ", msg)
        print(format_routes(router.routes()))  # type: ignore[attr-defined]
        baselines = {"learned": router, "full chain": FixedRouting.like(router, FULL_CHAIN),  # type: ignore[arg-type]
                     "classifier>finisher": FixedRouting.like(router, ["classifier", "finisher"])}  # type: ignore[arg-type]
        with warnings.catch_warnings(record=True) as worse:
            warnings.simplefilter("always", RoutingWorseWarning)
            report = evaluate(baselines, range(100_000, 101_000), run_doc)
        print(report)
        for w in worse:
            print("warning:", w.message)


if __name__ == "__main__":
    main()
