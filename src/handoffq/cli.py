"""The ``handoffq`` command line: experiments, the full reproduction, and small tools.

``handoffq experiment NAME [--quick] [--seed N] [--out DIR] [--config FILE] [--OPTION VALUE ...]``
runs one experiment (``handoffq experiment NAME --help`` lists its options); ``handoffq
reproduce [--quick] [--out DIR]`` runs them all and writes ``report.md``. A user error (an
option, a file, an environment) is one line naming the problem, before any work starts
(``--debug`` shows the traceback); Ctrl-C says where the finished work is and how to resume.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from handoffq.services.cli import register as register_services

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="IC-Q: learning to hand off under interface constraints."
)
console = Console(stderr=True)
out_console = Console()
register_services(app)  # serve-agent and compose (typer only: the web stack loads when a service runs)


class CLIError(Exception):
    """A user error of the command line itself: printed as one line, exit status 2."""


def _version(value: bool) -> None:
    if value:
        from handoffq import __version__

        out_console.print(f"handoffq {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="show the version"),
) -> None:
    """IC-Q: learning who should hand off to whom, under interface constraints."""


# ------------------------------------------------------------------ running one experiment
def _check_out(out: Path) -> None:
    """Create ``out`` (or fail in one line naming it) before any work starts."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".handoffq-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CLIError(f"option --out: cannot write to {out} ({exc.strerror or exc})") from None


def _prepare(name: str, inv: Any, options: list[tuple[str, Any, str]]) -> tuple[Any, Any]:
    """The experiment and its validated configuration (nothing runs yet)."""
    from handoffq.config import build_config
    from handoffq.experiments.registry import get

    exp = get(name)
    cfg = build_config(exp.config, inv.preset, inv.variant, options)
    return exp, cfg


def _context(out: Path, inv: Any, options: list[tuple[str, Any, str]]) -> Any:
    from handoffq.experiments.common import RunContext
    from handoffq.progress import progress_factory

    return RunContext(out=out, preset=inv.preset, variant=inv.variant, seed=inv.seed, runtime=inv.runtime,
                      workers=inv.workers, options={n.lstrip("-"): v for n, v, _ in options},
                      progress=progress_factory(console), log=lambda m: console.print(escape(m), soft_wrap=True))


def _show_summary(name: str, summary: dict[str, Any], out: Path) -> None:
    from handoffq.experiments.report import format_value

    table = Table(title=f"{name}: summary ({out / 'summary.json'})")
    table.add_column("key")
    table.add_column("value")
    for k, v in summary.items():
        table.add_row(k, escape(format_value(v)))
    out_console.print(table)


def _print_help(name: str | None) -> None:
    from handoffq.cli_parse import experiment_help
    from handoffq.experiments.registry import get, names

    if name is None:
        print("usage: handoffq experiment NAME [options]   (handoffq experiment NAME --help lists its options)")
        for n in names():
            print(f"  {n:10s} {get(n).description}")
        return
    exp = get(name)
    lines = [f"usage: handoffq experiment {name} [options]", "", exp.description, "", "options:"]
    for flag, kind, default, text in experiment_help(name, exp.description, exp.config):
        head = f"  {flag} {kind}".rstrip()
        tail = f"{text} [default: {default}]" if default else text
        lines.append(f"{head:34s} {tail}" if len(head) < 34 else f"{head}\n{'':34s} {tail}")
    print("\n".join(lines))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def experiment(
    ctx: typer.Context, name: str = typer.Argument(None, help="experiment name (see handoffq list)")
) -> None:
    """Run one experiment; writes config.json, results.csv, summary.json and figures.

    ``handoffq experiment NAME --help`` lists the experiment's options with types and defaults.
    """
    from handoffq.cli_parse import load_config_file, parse_invocation

    args = list(ctx.args)
    debug = "--debug" in args
    try:
        if name is None or name.startswith("-"):
            _print_help(None)
            raise typer.Exit(0 if name in (None, "--help", "-h") else 2)
        inv = parse_invocation(args)
        if inv.help:
            _print_help(name)
            return
        options = (load_config_file(inv.config) if inv.config else []) + inv.options
        exp, cfg = _prepare(name, inv, options)
        out = inv.out or Path("runs") / name
        _check_out(out)
        t0 = time.time()
        summary = _interruptible(lambda: exp.run(cfg, _context(out, inv, options)), out)
        _show_summary(name, summary, out)
        console.print(f"[green]done[/green] in {time.time() - t0:.1f} s -> {escape(str(out))}")
    except Exception as exc:
        _fail(exc, debug)


def _interruptible(fn: Any, out: Path) -> Any:
    """Run ``fn``; on Ctrl-C say what was kept and how to resume (exit status 130)."""
    try:
        return fn()
    except KeyboardInterrupt:
        cells = out / "cells.jsonl"
        kept = f"{sum(1 for _ in cells.open())} finished cells are kept in {cells}; " if cells.exists() else ""
        console.print(f"[yellow]interrupted[/yellow]: {escape(kept)}rerun the same command to resume", soft_wrap=True)
        raise typer.Exit(130) from None


# ------------------------------------------------------------------ reproduce
@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="CI-sized presets"),
    out: Path = typer.Option(Path("runs/reproduce"), "--out", help="output directory"),
    seed: int = typer.Option(0, "--seed", help="shift every seed of the presets by N (>= 0)"),
    only: str = typer.Option("", "--only", help="comma-separated experiment names (default all)"),
    force: bool = typer.Option(False, "--force", help="rerun experiments that already finished"),
    runtime: str = typer.Option("inprocess", "--runtime", help="inprocess, batched or ray"),
    workers: int = typer.Option(1, "--workers", help="parallel workers for sweeps (>= 1)"),
    debug: bool = typer.Option(False, "--debug", help="show the full traceback of an error"),
) -> None:
    """Run every experiment (offline) and write OUT/report.md.

    An experiment whose folder holds a finished run of the same preset, seed and options is
    skipped (``--force`` reruns it); a finished run of other settings is rerun.
    """
    from handoffq.cli_parse import Invocation
    from handoffq.experiments.common import same_run, stored_run
    from handoffq.experiments.registry import names
    from handoffq.experiments.report import write_report
    from handoffq.runtime import RUNTIMES

    try:
        if runtime not in RUNTIMES:
            raise CLIError(f"option --runtime: {runtime!r} is not one of {', '.join(RUNTIMES)}")
        if seed < 0 or workers < 1:
            raise CLIError("option --seed must be >= 0" if seed < 0 else "option --workers must be >= 1")
        known = names()
        todo = [n.strip() for n in only.split(",") if n.strip()] or known
        unknown = [n for n in todo if n not in known]
        if unknown:
            raise CLIError(f"option --only: unknown experiment(s) {', '.join(unknown)} (known: {', '.join(known)})")
        inv = Invocation(preset="quick" if quick else "full", seed=seed, runtime=runtime, workers=workers)
        prepared = [(n, *_prepare(n, inv, [])) for n in todo]  # every config checked before any work
        _check_out(out)
        sections: list[tuple[str, str, float | None]] = []
        failed: list[str] = []
        for name, exp, cfg in prepared:
            d = out / name
            stored = stored_run(d)
            if stored is not None and not force and same_run(stored, name, cfg, _context(d, inv, [])):
                console.print(f"[yellow]{name}[/yellow]: already finished in {escape(str(d))} (--force reruns it)")
                sections.append((name, exp.description, None))
                continue
            console.rule(f"{name}: {escape(exp.description)}")
            t0 = time.time()
            try:
                summary = _interruptible(lambda exp=exp, cfg=cfg, d=d: exp.run(cfg, _context(d, inv, [])), d)
                _show_summary(name, summary, d)
                console.print(f"{name}: done in {time.time() - t0:.1f} s")
            except typer.Exit:
                raise
            except Exception as exc:
                if debug:
                    raise
                failed.append(name)
                console.print(f"[red]{name} failed:[/red] {type(exc).__name__}: {escape(str(exc))}", soft_wrap=True)
            sections.append((name, exp.description, time.time() - t0))
        path = write_report(out, sections, quick)
        console.print(f"report: {escape(str(path))}")
        if failed:
            raise CLIError(f"experiments failed: {', '.join(failed)} (the others' results are in {out})")
    except Exception as exc:
        _fail(exc, debug)


@app.command("routes")
def routes(
    directory: Path = typer.Argument(..., help="a directory written by Router.save (or autosave)"),
    draw: Path | None = typer.Option(None, "--draw", help="also draw the routing graph to this PNG/SVG/PDF file"),
    debug: bool = typer.Option(False, "--debug", help="show the traceback of an error"),
) -> None:
    """Print what a saved router learned: per agent, view -> successor, Q values and visits."""
    from handoffq.router.cli import routes_command

    try:
        routes_command(directory, draw, out_console)
    except Exception as exc:
        _fail(exc, debug)


@app.command("list")
def list_experiments() -> None:
    """List the experiments."""
    from handoffq.experiments.registry import get, names

    for n in names():
        out_console.print(f"{n:10s} {get(n).description}")


def _fail(exc: BaseException, debug: bool = False) -> None:
    """Print a user error as one line (exit status 2); re-raise anything else."""
    from handoffq.core.errors import HandoffqError

    if isinstance(exc, typer.Exit):
        raise exc
    if isinstance(exc, (CLIError, HandoffqError)) and not debug:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2)
    raise exc


def main(argv: list[Any] | None = None) -> None:
    """Entry point of the ``handoffq`` script."""
    app(args=argv, prog_name="handoffq")


if __name__ == "__main__":
    main(sys.argv[1:])
