"""``handoffq serve-agent`` and ``handoffq compose``: agents as services from the command line.

:func:`register` adds both commands to a Typer app (the main ``handoffq`` CLI calls it);
``python -m handoffq.services`` runs them on their own. Importing this module imports only
Typer: the web stack is imported when a command runs.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

__all__ = ["app", "compose", "register", "serve_agent"]

_AGENT = "Agent"
_LEARN = "Learner"
_NET = "Network and security"
_REL = "Reliability and limits"


def serve_agent(
    name: str = typer.Option(None, "--name", help="this service's name (the 'from'/'to' of its messages)"),
    role: str = typer.Option("agent", "--role", help="agent (work, route, learn) or judge (score and end tasks)"),
    work: str = typer.Option(None, "--work", help="module:function, artifact -> artifact or WorkResult "
                             "(agents)", rich_help_panel=_AGENT),
    judge: str = typer.Option(None, "--judge", help="module:function, final artifact -> reward (judges)",
                              rich_help_panel=_AGENT),
    observe: str = typer.Option(None, "--observe", help="module:function, artifact -> this agent's own view "
                                "(default: the artifact itself)", rich_help_panel=_AGENT),
    successor: list[str] = typer.Option([], "--successor", help="a successor this agent may pick (repeat; "
                                        "__end__ or END hands the task to the judge)", rich_help_panel=_AGENT),
    peer: list[str] = typer.Option([], "--peer", help="NAME=URL: where peer NAME listens (repeat): every "
                                   "successor, and every predecessor that asks for replies (replies go only to "
                                   "these addresses, never to one named in a message)", rich_help_panel=_NET),
    end: str = typer.Option(None, "--end", help="NAME=URL: the judge service that END hands tasks to",
                            rich_help_panel=_NET),
    accept_from: list[str] = typer.Option([], "--accept-from", help="a service allowed to hand off to this one "
                                          "(repeat; 'client' for whoever submits tasks)", rich_help_panel=_NET),
    key_file: Path = typer.Option(None, "--key-file", help="TOML file with a [keys] table, peer = \"hex\" (chmod "
                                  "600); keys also come from HANDOFFQ_KEY__<PEER> variables", rich_help_panel=_NET),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on", rich_help_panel=_NET),
    port: int = typer.Option(8700, "--port", help="port to listen on", rich_help_panel=_NET),
    url: str = typer.Option(None, "--url", help="the base URL peers reach this service at (default "
                            "http://HOST:PORT)", rich_help_panel=_NET),
    forward: str = typer.Option("http", "--forward", help="how handoffs are sent: http (POST /v1/handoff) or a2a "
                                "(A2A SendMessage); replies are always POST /v1/reply", rich_help_panel=_NET),
    a2a: bool = typer.Option(True, "--a2a/--no-a2a", help="also accept handoffs as A2A (/a2a, agent card)",
                             rich_help_panel=_NET),
    window: float = typer.Option(30.0, "--window", help="seconds a message's timestamp may differ from this "
                                 "clock", rich_help_panel=_NET),
    learner: str = typer.Option("tabular", "--learner", help="tabular (hashable views) or mlp (numeric vectors)",
                                rich_help_panel=_LEARN),
    gamma: float = typer.Option(0.99, "--gamma", help="discount per unit of duration", rich_help_panel=_LEARN),
    epsilon: float = typer.Option(0.1, "--epsilon", help="exploration probability (train mode)",
                                  rich_help_panel=_LEARN),
    epsilon_decay: float = typer.Option(1.0, "--epsilon-decay", help="epsilon decays as epsilon * decay**t",
                                        rich_help_panel=_LEARN),
    epsilon_min: float = typer.Option(0.0, "--epsilon-min", help="floor of the decayed epsilon",
                                      rich_help_panel=_LEARN),
    seed: int = typer.Option(0, "--seed", help="seeds the learner (mixed with --name, as the Router mixes its seed "
                             "with each agent's name) and the retry jitter", rich_help_panel=_LEARN),
    unseen: str = typer.Option("add", "--unseen", help="views never seen when not learning: add, fallback, error",
                               rich_help_panel=_LEARN),
    fallback: str = typer.Option(None, "--fallback", help="successor for unseen views", rich_help_panel=_LEARN),
    learn_in_serve: bool = typer.Option(True, "--learn-in-serve/--no-learn-in-serve", help="in serve mode, still "
                                        "learn from replies (as the router)", rich_help_panel=_LEARN),
    mode: str = typer.Option("train", "--mode", help="train (explore, learn), serve (greedy, learn) or frozen "
                             "(greedy, no updates); a task's own mode can only lower it", rich_help_panel=_LEARN),
    cost_weight: float = typer.Option(1.0, "--cost-weight", help="R = -cost_weight * cost of this agent's work "
                                      "(the Router's default)", rich_help_panel=_LEARN),
    max_handoffs: int = typer.Option(20, "--max-handoffs", help="a task handed off more often ends here with "
                                     "--penalty (the Router's max_handoffs)", rich_help_panel=_LEARN),
    penalty: float = typer.Option(-1.0, "--penalty", help="reward of a task ended by --max-handoffs or by a failing "
                                  "work/judge (the Router's cap_penalty)", rich_help_panel=_LEARN),
    checkpoint_dir: Path = typer.Option(None, "--checkpoint-dir", help="folder of this service's snapshot and "
                                        "journal (NAME.ckpt, NAME.journal)", rich_help_panel=_REL),
    checkpoint_every: int = typer.Option(5000, "--checkpoint-every", help="snapshot after this many journal "
                                         "records", rich_help_panel=_REL),
    checkpoint_interval: float = typer.Option(10.0, "--checkpoint-interval", help="... or after this many seconds",
                                              rich_help_panel=_REL),
    fsync: bool = typer.Option(False, "--fsync", help="flush every journal record to disk (survives a machine "
                               "crash, not only a killed process)", rich_help_panel=_REL),
    inbox_size: int = typer.Option(1024, "--inbox-size", help="handoffs accepted and not yet worked on, at most "
                                   "(then 503: the sender retries)", rich_help_panel=_REL),
    outbox_size: int = typer.Option(4096, "--outbox-size", help="forward handoffs owed to successors, at most "
                                    "(then no new work is taken)", rich_help_panel=_REL),
    concurrency: int = typer.Option(64, "--concurrency", help="handoffs worked on at once", rich_help_panel=_REL),
    work_threads: int = typer.Option(8, "--work-threads", help="threads for plain (non-async) work; 0 runs it "
                                     "in the event loop", rich_help_panel=_REL),
    max_artifact_bytes: int = typer.Option(1 << 20, "--max-artifact-bytes", help="largest handoff accepted",
                                           rich_help_panel=_REL),
    max_reply_bytes: int = typer.Option(2048, "--max-reply-bytes", help="largest reply accepted",
                                        rich_help_panel=_REL),
    decision_ttl: float = typer.Option(600.0, "--decision-ttl", help="seconds a delivered decision waits for "
                                       "its reply before it is abandoned", rich_help_panel=_REL),
    max_magnitude: float = typer.Option(1e9, "--max-magnitude", help="largest |v| and |R| accepted in a reply "
                                        "(larger: rejected as out_of_range)", rich_help_panel=_REL),
    reply_quota: int = typer.Option(0, "--reply-quota", help="replies owed to one predecessor at most (more are "
                                    "dropped, counted; 0: half of --outbox-size)", rich_help_panel=_REL),
    delivery_ttl: float = typer.Option(300.0, "--delivery-ttl", help="seconds a message is retried before it is "
                                       "given up (counted, logged)", rich_help_panel=_REL),
    max_attempts: int = typer.Option(0, "--max-attempts", help="attempts per message before it is given up "
                                     "(0: only --delivery-ttl limits)", rich_help_panel=_REL),
    retry_base: float = typer.Option(0.02, "--retry-base", help="first retry delay (doubles, with jitter)",
                                     rich_help_panel=_REL),
    retry_max: float = typer.Option(1.0, "--retry-max", help="longest retry delay", rich_help_panel=_REL),
    timeout: float = typer.Option(10.0, "--timeout", help="seconds one delivery attempt may take",
                                  rich_help_panel=_REL),
    audit: Path = typer.Option(None, "--audit", help="JSON-lines log of every reply sent and applied (only "
                               "v, tau, R and ids)", rich_help_panel=_REL),
    outcomes: Path = typer.Option(None, "--outcomes", help="JSON-lines log of finished tasks (judges): task, "
                                  "reward, hops, mode, time, final artifact",
                                  rich_help_panel=_REL),
    compose_file: Path = typer.Option(None, "--compose", help="take every option of --service from this compose "
                                      "file instead (what 'handoffq compose' runs)"),
    service: str = typer.Option(None, "--service", help="the service of --compose to run"),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error"),
) -> None:
    """Run one agent (or the judge) as a service: take handoffs, work, reply (v, tau, R), route, forward."""
    from handoffq.services.config import OptionError, ServiceOptions, parse_peer

    try:
        if compose_file is not None:
            from handoffq.services.compose import service_options

            if not service:
                raise OptionError("--compose needs --service NAME")
            opts = service_options(compose_file, service)
        else:
            if not name:
                raise OptionError("--name is required (or --compose FILE --service NAME)")
            if checkpoint_dir is None:
                raise OptionError("--checkpoint-dir is required")
            opts = ServiceOptions(
                name=name, checkpoint_dir=checkpoint_dir, role=role, host=host, port=port, url=url, work=work,
                judge=judge, observe=observe, successors=[s if s != "END" else "__end__" for s in successor],
                peers=dict(parse_peer(p, "--peer") for p in peer),
                end=parse_peer(end, "--end") if end else None, accept_from=list(accept_from), key_file=key_file,
                learner=learner, gamma=gamma, epsilon=epsilon, epsilon_decay=epsilon_decay, epsilon_min=epsilon_min,
                seed=seed, unseen=unseen, fallback=fallback, mode=mode, learn_in_serve=learn_in_serve,
                cost_weight=cost_weight,
                max_handoffs=max_handoffs, penalty=penalty, inbox_size=inbox_size, outbox_size=outbox_size,
                concurrency=concurrency, work_threads=work_threads, max_artifact_bytes=max_artifact_bytes,
                max_reply_bytes=max_reply_bytes, window=window, checkpoint_every=checkpoint_every,
                checkpoint_interval=checkpoint_interval, fsync=fsync, forward=forward, a2a=a2a,
                decision_ttl=decision_ttl, max_magnitude=max_magnitude, reply_quota=reply_quota,
                delivery_ttl=delivery_ttl, max_attempts=max_attempts,
                retry_base=retry_base, retry_max=retry_max, timeout=timeout,
                audit=audit, outcomes=outcomes,
            )
        _run(opts, log_level)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(opts: object, log_level: str) -> None:
    import httpx
    import uvicorn

    from handoffq.services.app import build_app
    from handoffq.services.config import ServiceOptions, build_service

    assert isinstance(opts, ServiceOptions)
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise ValueError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    logging.basicConfig(level=level, format=f"%(asctime)s {opts.name} %(levelname)s %(name)s: %(message)s")
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    service = build_service(opts, http)
    service.restore()  # before listening: a snapshot or journal that cannot be restored is a one-line error
    app = build_app(service, a2a=opts.a2a, on_shutdown=http.aclose)
    server = uvicorn.Server(uvicorn.Config(app, host=opts.host, port=opts.port, log_level=log_level,
                                           access_log=False, lifespan="on", timeout_graceful_shutdown=5))

    def exit_now() -> None:
        server.should_exit = True

    service.on_fatal = exit_now
    server.run()
    if service.fatal is not None:  # it stopped itself (a journal write failed): a restart recovers
        typer.echo(f"error: {opts.name}: {service.fatal}", err=True)
        raise typer.Exit(1)


def compose(
    file: Path = typer.Argument(..., help="the compose file (TOML) describing the pipeline"),
) -> None:
    """Start every service of a compose file until interrupted, restarting any that dies (with
    backoff; after 5 failed starts in a row the pipeline stops with the reason)."""
    import signal
    import time

    from handoffq.services.compose import Pipeline

    try:
        pipeline = Pipeline(file)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        pipeline.start()
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    names = ", ".join(f"{n} {pipeline.url(n)}" for n in pipeline.options)
    typer.echo(f"pipeline up: {names}; tasks go to {pipeline.entry} (Ctrl-C stops)", err=True)
    try:
        while not pipeline.gave_up:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.stop()
    if pipeline.gave_up:
        for name, reason in pipeline.gave_up.items():
            typer.echo(f"error: {name}: {reason}", err=True)
        raise typer.Exit(1)


def register(target: typer.Typer) -> None:
    """Add ``serve-agent`` and ``compose`` to the Typer app ``target``."""
    target.command("serve-agent")(serve_agent)
    target.command("compose")(compose)


app = typer.Typer(add_completion=False, no_args_is_help=True, help="handoffq agents as services.")
register(app)


def main() -> None:
    """``python -m handoffq.services``."""
    app(prog_name="python -m handoffq.services", args=sys.argv[1:])
