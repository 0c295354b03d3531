"""A whole local pipeline from one TOML file: start every service, restart any that dies.

Example (``pipeline.toml``)::

    [pipeline]
    host = "127.0.0.1"
    checkpoint_dir = "runs/pipeline"   # every service keeps its own files in it
    entry = "planner"                  # the agent that receives new tasks
    forward = "a2a"                    # or "http"
    # key_file = "keys.toml"           # [pairs] "planner--coder" = "hex"; default: fresh keys per launch

    [defaults]                         # any serve-agent option, for every service
    gamma = 0.95
    cost_weight = 0.1

    [judge]
    name = "judge"
    port = 8800
    judge = "mypkg.flow:judge"

    [agents.planner]
    port = 8801
    work = "mypkg.flow:plan"
    observe = "mypkg.flow:planner_view"
    successors = ["coder", "END"]      # END (or __end__) hands the task to the judge

    [agents.coder]
    port = 8802
    work = "mypkg.flow:code"
    successors = ["END"]

From the file the launcher derives each service's peers (successor addresses, the judge as
``END``, and its predecessors' addresses, where its replies go), whom it accepts handoffs from
(its predecessors; the entry agent also accepts the submitting ``client``) and one key per
pair of services that talk, handed to each child in its environment only (a child holds the
keys of its own links, no others). ``handoffq compose FILE`` runs it in the foreground; :class:`Pipeline` is
the same from Python (tests, benchmarks).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from handoffq.services.config import END_LABEL, OptionError, ServiceOptions, options_from_mapping
from handoffq.services.security import KeyRing, _parse_key, new_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CLIENT", "Pipeline", "load_pipeline"]

CLIENT = "client"
"""The peer name of whoever submits tasks to the entry agent."""

_PIPELINE_KEYS = {"host", "checkpoint_dir", "entry", "forward", "key_file", "a2a"}


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    val = data.get(key, {})
    if not isinstance(val, dict):
        raise OptionError(f"{where}: [{key}] must be a table")
    return val


def _successors(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise OptionError(f"{where}: successors must be a non-empty list of agent names (END ends a task)")
    return [END_LABEL if s in ("END", END_LABEL) else s for s in raw]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise OptionError(f"compose file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(f"compose file {path}: {exc}") from None
    extra = set(data) - {"pipeline", "defaults", "judge", "agents"}
    if extra:
        raise OptionError(f"compose file {path}: unknown table(s) {sorted(extra)}")
    return data


def load_pipeline(path: str | os.PathLike[str]) -> tuple[dict[str, ServiceOptions], dict[str, Any]]:
    """Every service's options (by name) and the ``[pipeline]`` table of the compose file."""
    path = Path(path)
    data = _read(path)
    pipe = _table(data, "pipeline", str(path))
    unknown = set(pipe) - _PIPELINE_KEYS
    if unknown:
        raise OptionError(f"compose file {path}, [pipeline]: unknown key(s) {sorted(unknown)}")
    defaults = _table(data, "defaults", str(path))
    agents = _table(data, "agents", str(path))
    judge = _table(data, "judge", str(path))
    if not agents or not judge:
        raise OptionError(f"compose file {path}: needs a [judge] table and at least one [agents.NAME] table")
    host = str(pipe.get("host", "127.0.0.1"))
    common = {**defaults, "host": host, "checkpoint_dir": pipe.get("checkpoint_dir", "runs/pipeline")}
    for key in ("forward", "a2a"):
        if key in pipe:
            common[key] = pipe[key]
    judge_name = str(judge.get("name", "judge"))
    raw: dict[str, dict[str, Any]] = {judge_name: {**common, **judge, "name": judge_name, "role": "judge"}}
    for name, table in agents.items():
        where = f"compose file {path}, [agents.{name}]"
        if not isinstance(table, dict):
            raise OptionError(f"{where} must be a table")
        raw[name] = {**common, **table, "name": name, "role": "agent",
                     "successors": _successors(table.get("successors"), where)}
    for name, table in raw.items():
        if "port" not in table:
            raise OptionError(f"compose file {path}: service {name!r} needs a port")
        _resolve_paths(table, path.parent)
    _link(raw, judge_name, str(pipe.get("entry", next(iter(agents)))), path)
    opts = {name: options_from_mapping(t, f"compose file {path}, service {name!r}") for name, t in raw.items()}
    return opts, pipe


def _resolve_paths(table: dict[str, Any], base: Path) -> None:
    """Paths in a compose file are relative to the file."""
    for key in ("checkpoint_dir", "key_file", "audit", "outcomes"):
        if isinstance(table.get(key), str) and not Path(table[key]).is_absolute():
            table[key] = str(base / table[key])


def _link(raw: dict[str, dict[str, Any]], judge: str, entry: str, path: Path) -> None:
    """Fill in peers, the judge's address and who each service accepts handoffs from."""
    if entry not in raw or entry == judge:
        raise OptionError(f"compose file {path}: entry {entry!r} is not one of the agents")
    url = {n: t.get("url") or f"http://{t['host']}:{t['port']}" for n, t in raw.items()}
    accept: dict[str, set[str]] = {n: set() for n in raw}
    accept[entry].add(CLIENT)
    for name, t in raw.items():
        if t["role"] != "agent":
            continue
        peers = {}
        for s in t["successors"]:
            target = judge if s == END_LABEL else s
            if target not in raw or (target == judge and s != END_LABEL):
                raise OptionError(f"compose file {path}: agent {name!r} names unknown successor {s!r}")
            accept[target].add(name)
            if s != END_LABEL:
                peers[s] = url[s]
        t["peers"] = peers
        t["end"] = (judge, url[judge])
    for name, t in raw.items():
        t["accept_from"] = sorted(accept[name])
        # the predecessors it replies to: their addresses come from this file, never from a message
        t["peers"] = {**t.get("peers", {}), **{p: url[p] for p in accept[name] if p != CLIENT}}


def pair_keys(services: list[str], key_file: Path | None) -> dict[frozenset[str], bytes]:
    """One key per pair of services (and the client): from ``key_file`` or fresh."""
    names = sorted(set(services) | {CLIENT})
    stored: dict[frozenset[str], bytes] = {}
    if key_file is not None:
        data = tomllib.loads(Path(key_file).read_text())
        for pair, val in dict(data.get("pairs", {})).items():
            a, sep, b = str(pair).partition("--")
            if not sep:
                raise OptionError(f"key file {key_file}: pair {pair!r} must look like \"a--b\"")
            stored[frozenset((a, b))] = _parse_key(val, f"key file {key_file}, pair {pair!r}")
    return {frozenset((a, b)): stored.get(frozenset((a, b))) or bytes.fromhex(new_key())
            for i, a in enumerate(names) for b in names[i + 1:]}


class Pipeline:
    """The services of one compose file as child processes, restarted when they die.

    A child that exits is restarted after a delay that doubles with each exit in a row
    (``restart_backoff``, 2x, ... up to 30 s); an exit after ``stable_after`` seconds of running
    starts the count again. After ``max_restarts`` exits in a row the launcher gives up on that
    service: :attr:`gave_up` holds a one-line reason (the child's last error line), and
    ``handoffq compose`` stops the pipeline with it. A child's stderr passes through to the
    launcher's.

    Args:
        path: the compose file.
        python: the interpreter that runs the children.
        env: extra environment for every child.
        restart: restart a child that exits without being asked to.
        log_level: the children's ``--log-level``.
        restart_backoff: seconds before the first restart.
        max_restarts: exits in a row before giving up on a service.
        stable_after: seconds of running after which an exit no longer counts as "in a row".
    """

    def __init__(self, path: str | os.PathLike[str], python: str = sys.executable,
                 env: dict[str, str] | None = None, restart: bool = True, log_level: str = "info",
                 restart_backoff: float = 0.25, max_restarts: int = 5, stable_after: float = 30.0) -> None:
        self.path = Path(path).resolve()
        self.options, self.pipe = load_pipeline(self.path)
        key_file = self.pipe.get("key_file")
        self._keys = pair_keys(list(self.options), None if key_file is None else self.path.parent / key_file)
        self.python = python
        self.env = dict(env or {})
        self.restart = restart
        self.log_level = log_level
        self.entry = str(self.pipe.get("entry", next(n for n, o in self.options.items() if o.role == "agent")))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = dict.fromkeys(self.options, 0)
        self.restart_backoff = float(restart_backoff)
        self.max_restarts = int(max_restarts)
        self.stable_after = float(stable_after)
        self.gave_up: dict[str, str] = {}
        self.last_error: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._failures: dict[str, int] = dict.fromkeys(self.options, 0)
        self._due: dict[str, float] = {}
        self._stopping = False
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None

    def url(self, name: str) -> str:
        """Base URL of service ``name``."""
        return self.options[name].base_url

    def ring(self, name: str) -> KeyRing:
        """The key ring of ``name`` (a service, or :data:`CLIENT`): only the keys of the peers it
        talks to (its successors, the judge, its predecessors; the client: the entry agent)."""
        talks_to = {self.entry} if name == CLIENT else set(self.options[name].key_peers())
        return KeyRing({other: key for pair, key in self._keys.items() if name in pair
                        for other in pair - {name} if other in talks_to})

    def _child_env(self, name: str) -> dict[str, str]:
        return {**os.environ, **self.env, **self.ring(name).to_env()}

    def _spawn(self, name: str) -> None:
        cmd = [self.python, "-m", "handoffq.services", "serve-agent", "--compose", str(self.path), "--service", name,
               "--log-level", self.log_level]
        proc = subprocess.Popen(cmd, env=self._child_env(name), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs[name] = proc
        self._started[name] = time.monotonic()
        self.last_error.pop(name, None)
        threading.Thread(target=self._pump, args=(name, proc), name=f"handoffq-compose-{name}", daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        """Pass the child's stderr through, remembering its last error line (the reason if it dies)."""
        assert proc.stderr is not None
        for raw in proc.stderr:
            sys.stderr.buffer.write(raw)
            sys.stderr.flush()
            line = raw.decode(errors="replace").strip()
            if line and (line.startswith("error:") or not self.last_error.get(name, "").startswith("error:")):
                self.last_error[name] = line  # an "error: ..." line is kept over later log lines

    def start(self, timeout: float = 60.0) -> None:
        """Start every service (judge first) and wait until all answer their health check."""
        for name in sorted(self.options, key=lambda n: self.options[n].role != "judge"):
            self._spawn(name)
        try:
            self.wait_ready(timeout, fail_fast=True)
        except BaseException:
            self.stop()
            raise
        if self.restart:
            self._watch = threading.Thread(target=self._supervise, name="handoffq-compose", daemon=True)
            self._watch.start()

    def wait_ready(self, timeout: float = 60.0, names: list[str] | None = None, fail_fast: bool = False) -> None:
        """Wait until the services (all, or ``names``) answer ``/v1/health`` with 200
        (``fail_fast``: a child that exits meanwhile is an error, e.g. a bad option at start)."""
        import httpx

        todo = set(names or self.options)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as http:
            while todo:
                for name in sorted(todo):
                    proc = self.procs.get(name)
                    if proc is not None and proc.poll() is not None and (fail_fast or not self.restart):
                        proc.wait()
                        time.sleep(0.05)  # let its last line through
                        raise RuntimeError(f"service {name!r} exited with status {proc.returncode}: "
                                           f"{self.last_error.get(name, 'no output')}")
                    try:
                        if http.get(self.url(name) + "/v1/health").status_code == 200:
                            todo.discard(name)
                    except httpx.HTTPError:
                        pass
                if todo and time.monotonic() > deadline:
                    raise TimeoutError(f"services {sorted(todo)} not ready after {timeout:g} s")
                if todo:
                    time.sleep(0.05)

    def _supervise(self) -> None:
        while not self._stopping:
            with self._lock:
                for name, proc in list(self.procs.items()):
                    if not self._stopping and name not in self.gave_up:
                        self._look_after(name, proc)
            time.sleep(0.05)

    def _look_after(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        """Schedule the restart of a child that exited, start it when due, or give up on it."""
        now = time.monotonic()
        if name in self._due:
            if now >= self._due[name]:
                del self._due[name]
                self.restarts[name] += 1
                self._spawn(name)
            return
        if proc.poll() is None:
            return
        ran = now - self._started.get(name, now)
        self._failures[name] = 1 if ran >= self.stable_after else self._failures[name] + 1
        last = self.last_error.get(name, "no output")
        if self._failures[name] > self.max_restarts:
            self.gave_up[name] = (f"exited {self._failures[name]} times in a row (status {proc.returncode}); "
                                  f"gave up restarting it. Last: {last}")
            print(f"compose: {name} {self.gave_up[name]}", file=sys.stderr)
            return
        delay = min(30.0, self.restart_backoff * 2.0 ** (self._failures[name] - 1))
        self._due[name] = now + delay
        print(f"compose: {name} exited ({proc.returncode}); restarting in {delay:.2g} s", file=sys.stderr)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default SIGKILL) to service ``name``; the supervisor restarts it."""
        with self._lock:
            proc = self.procs[name]
            proc.send_signal(sig)
            proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every service (SIGTERM: each writes its snapshot), then the supervisor."""
        self._stopping = True
        if self._watch is not None:
            self._watch.join(timeout=5)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Pipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, dict[str, Any]]:
        """``/v1/stats`` of every service (``{"ready": False, "error": ...}`` for one that is down)."""
        import httpx

        out: dict[str, dict[str, Any]] = {}
        with httpx.Client(timeout=5.0) as http:
            for name in self.options:
                try:
                    out[name] = http.get(self.url(name) + "/v1/stats").json()
                except httpx.HTTPError as exc:
                    out[name] = {"name": name, "ready": False, "error": f"{type(exc).__name__}: {exc}"}
        return out

    async def submit_many(self, tasks: list[tuple[str, Any]], mode: str = "train", concurrency: int = 64) -> int:
        """Submit ``(task id, artifact)`` pairs to the entry agent; how many were accepted."""
        import asyncio

        import httpx

        from handoffq.services.client import TaskClient

        sem = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:
            client = TaskClient(self.ring(CLIENT), http, forward=self.options[self.entry].forward,
                                max_in_flight=concurrency)

            async def one(task: str, artifact: Any) -> bool:
                async with sem:
                    return await client.submit(self.entry, self.url(self.entry), task, artifact, mode)

            done = await asyncio.gather(*(one(t, a) for t, a in tasks))
        return sum(done)


def service_options(path: str | os.PathLike[str], name: str) -> ServiceOptions:
    """The options of service ``name`` in compose file ``path``."""
    opts, _ = load_pipeline(path)
    if name not in opts:
        raise OptionError(f"compose file {path} has no service {name!r} (it has {sorted(opts)})")
    return dataclasses.replace(opts[name])
