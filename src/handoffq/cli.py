"""The ``handoffq`` command line: experiments, the full reproduction, and small tools.

``handoffq experiment NAME [--quick] [--seed N] [--out DIR] [--config FILE] [--KEY VALUE ...]``
runs one experiment; ``handoffq reproduce [--quick] [--out DIR]`` runs them all and writes
``report.md``. Errors in options or configuration files are one line, naming the problem.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="IC-Q: learning to hand off under interface constraints."
)
console = Console(stderr=True)
out_console = Console()


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _progress_factory():  # type: ignore[no-untyped-def]
    @contextmanager
    def bar(description: str, total: int):  # type: ignore[no-untyped-def]
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
            disable=not console.is_terminal and not _force_progress(),
        ) as prog:
            task = prog.add_task(description, total=total)
            yield lambda n=1: prog.advance(task, n)
    return bar


def _force_progress() -> bool:
    import os

    return os.environ.get("HANDOFFQ_PROGRESS", "") == "1"


def _parse_extra(args: list[str]) -> dict[str, str]:
    """``--key value`` / ``--key=value`` pairs after the known options."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--") or a == "--":
            raise CLIError(f"unexpected argument {a!r} (options look like --name value)")
        key = a[2:]
        if "=" in key:
            key, val = key.split("=", 1)
        else:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise CLIError(f"option --{key} needs a value")
            val = args[i + 1]
            i += 1
        opts[key.replace("_", "-")] = val
        i += 1
    return opts


def _load_config(path: Path) -> dict[str, str]:
    """A JSON object of option names to values (clear error naming file, line and field)."""
    if not path.exists():
        raise CLIError(f"config file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CLIError(f"config file {path}, line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise CLIError(f"config file {path}: the top level must be an object of option names")
    out = {}
    for k, v in data.items():
        if isinstance(v, (dict, list)):
            raise CLIError(f"config file {path}, field {k!r}: expected a number, string or boolean")
        out[str(k).replace("_", "-")] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


def _run_one(name: str, out: Path, quick: bool, seed: int, runtime: str, workers: int, options: dict[str, str]) -> dict:
    from handoffq.experiments.common import RunContext
    from handoffq.experiments.registry import get

    exp = get(name)
    _torch_threads()
    ctx = RunContext(out=out, quick=quick, seed=seed, runtime=runtime, workers=workers, options=dict(options),
                     progress=_progress_factory(), log=lambda m: console.print(m))
    out.mkdir(parents=True, exist_ok=True)
    summary = exp.run(ctx)
    ctx.check_unused()
    return summary


def _show_summary(name: str, summary: dict, out: Path) -> None:
    from handoffq.experiments.report import format_value

    table = Table(title=f"{name}: summary ({out / 'summary.json'})")
    table.add_column("key")
    table.add_column("value")
    from rich.markup import escape

    for k, v in summary.items():
        table.add_row(k, escape(format_value(v)))
    out_console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def experiment(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="experiment name: t1, t2, routing, llm-math, cpu"),
    quick: bool = typer.Option(False, "--quick", help="CI-sized preset"),
    seed: int = typer.Option(0, "--seed", help="base random seed"),
    out: Path = typer.Option(None, "--out", help="output directory (default runs/NAME)"),
    config: Path = typer.Option(None, "--config", help="JSON file of experiment options"),
    runtime: str = typer.Option("inprocess", "--runtime", help="inprocess or ray"),
    workers: int = typer.Option(1, "--workers", help="parallel workers for sweeps"),
) -> None:
    """Run one experiment; writes config.json, results.csv, summary.json and figures."""
    try:
        if runtime not in ("inprocess", "ray"):
            raise CLIError(f"--runtime must be 'inprocess' or 'ray', got {runtime!r}")
        options = _load_config(config) if config else {}
        options.update(_parse_extra(list(ctx.args)))
        out = out or Path("runs") / name
        t0 = time.time()
        summary = _run_one(name, out, quick, seed, runtime, workers, options)
        _show_summary(name, summary, out)
        console.print(f"[green]done[/green] in {time.time() - t0:.1f} s -> {out}")
    except Exception as exc:  # noqa: BLE001 - one clear line for user errors
        _fail(exc)


@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="CI-sized presets"),
    out: Path = typer.Option(Path("runs/reproduce"), "--out", help="output directory"),
    seed: int = typer.Option(0, "--seed", help="base random seed"),
    only: str = typer.Option("", "--only", help="comma-separated experiment names (default all)"),
    force: bool = typer.Option(False, "--force", help="rerun experiments that already finished"),
    runtime: str = typer.Option("inprocess", "--runtime", help="inprocess or ray"),
    workers: int = typer.Option(1, "--workers", help="parallel workers for sweeps"),
) -> None:
    """Run every experiment (offline) and write OUT/report.md; finished ones are skipped."""
    from handoffq.experiments.registry import get, names
    from handoffq.experiments.report import write_report

    try:
        todo = [n.strip() for n in only.split(",") if n.strip()] or names()
        sections = []
        failed = []
        for name in todo:
            exp = get(name)
            d = out / name
            t0 = time.time()
            secs: float | None = None
            if (d / "summary.json").exists() and not force:
                console.print(f"[yellow]{name}[/yellow]: already finished in {d} (use --force to rerun)")
            else:
                console.rule(f"{name}: {exp.description}")
                try:
                    summary = _run_one(name, d, quick, seed, runtime, workers, {})
                    secs = time.time() - t0
                    _show_summary(name, summary, d)
                except Exception as exc:  # noqa: BLE001 - keep going; finished work is kept
                    failed.append(name)
                    console.print(f"[red]{name} failed:[/red] {type(exc).__name__}: {exc}")
            sections.append((name, exp.description, secs))
        path = write_report(out, sections, quick)
        console.print(f"report: {path}")
        if failed:
            raise CLIError(f"experiments failed: {', '.join(failed)} (the others' results are in {out})")
    except Exception as exc:  # noqa: BLE001
        _fail(exc)


@app.command("list")
def list_experiments() -> None:
    """List the experiments."""
    from handoffq.experiments.registry import get, names

    for n in names():
        out_console.print(f"{n:10s} {get(n).description}")


from handoffq.services.cli import register as _register_services  # noqa: E402 - typer only; the web stack loads lazily

_register_services(app)


def _fail(exc: BaseException) -> None:
    """Print a user error as one line (exit status 2); re-raise anything else."""
    from rich.markup import escape

    from handoffq.core.env import EnvError
    from handoffq.core.messages import MessageError
    from handoffq.experiments.common import ExperimentError

    if isinstance(exc, (CLIError, ExperimentError, EnvError, MessageError)):
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2)
    if isinstance(exc, typer.Exit):
        raise exc
    if isinstance(exc, (ValueError, FileNotFoundError, KeyError)):
        console.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2)
    raise exc


def _torch_threads() -> None:
    """One intra-op thread unless ``HANDOFFQ_TORCH_THREADS`` says otherwise: the networks here
    are small and updated a few samples at a time, where extra threads cost more than they give
    (measured about 10x slower per update with 2 threads on a loaded 2-core machine)."""
    import os

    try:
        import torch
    except ModuleNotFoundError:
        return
    torch.set_num_threads(int(os.environ.get("HANDOFFQ_TORCH_THREADS", "1")))


def main(argv: list[Any] | None = None) -> None:
    """Entry point of the ``handoffq`` script."""
    app(args=argv, prog_name="handoffq")


if __name__ == "__main__":
    main(sys.argv[1:])
