"""One agent (or the judge) as a service: accept handoffs, work, reply, choose, forward.

:class:`AgentService` is the transport-free core of ``handoffq serve-agent``; the HTTP layer
(:mod:`handoffq.services.app`) hands it raw bytes and a signature and returns what it answers.

An **agent** service, for each handoff it accepts (routing after work, DESIGN section 6):

1. runs its work on the artifact (a user callable);
2. views the result, and replies ``(v, tau, R)`` to the predecessor that chose it, if that
   predecessor is learning (``reply_to`` set): ``v = max_k Q(o, k)``, ``tau`` the work's
   duration, ``R = -cost_weight * cost``. The reply goes to the predecessor's address in this
   service's own peer table (``--peer``), never to an address named in the envelope;
3. chooses a successor with its own node and forwards the artifact to it (``END`` is the
   judge's address); past ``max_handoffs`` it ends the task itself and learns the penalty.

A **judge** service ends a task: it scores the final artifact with the user's judge and
replies ``(0, 1, reward)`` to the agent that chose ``END``.

Everything it must not lose is journaled before it is acknowledged (:mod:`.journal`); on
restart it replays the journal on its last snapshot, re-runs the work of handoffs it had
accepted but not finished, and resumes delivering what it still owes. Handoff ids make both
directions idempotent: a handoff or a reply that arrives twice (from the same sender) is
acknowledged twice and acted on once. If a journal write fails, the service stops at once
(:attr:`AgentService.fatal`): its memory would no longer match its journal, and a restart
recovers from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from handoffq.learn.targets import NonFiniteQError
from handoffq.services.delivery import OutMessage, Sender
from handoffq.services.hosting import HostedNode, weakest_mode
from handoffq.services.journal import Journal, JournalError
from handoffq.services.outbox import Outbox
from handoffq.services.protocol import (
    Handoff,
    ProtocolError,
    Reply,
    decode_handoff,
    decode_json,
    decode_reply,
    encode,
    handoff_id,
)
from handoffq.services.security import KeyRing, ReplayGuard, SecurityError, verify
from handoffq.services.settings import STATUS, Ack, Lru, Peer, ServiceSettings, ServiceStopped
from handoffq.services.work import WorkResult, as_reward, as_work_result, call

__all__ = ["Ack", "AgentService", "Peer", "ServiceSettings", "ServiceStopped"]

log = logging.getLogger("handoffq.services")

_LOG_EVERY_S = 10.0


class AgentService:
    """One agent (with its node and work) or the judge (with its judge callable) as a service."""

    def __init__(
        self,
        settings: ServiceSettings,
        keys: KeyRing,
        journal: Journal,
        sender: Sender,
        node: HostedNode | None = None,
        work: Callable[..., Any] | None = None,
        judge: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        s = settings
        if s.role == "agent" and (node is None or work is None):
            raise ValueError(f"agent service {s.name!r} needs a node and a work callable")
        if s.role == "judge" and judge is None:
            raise ValueError(f"judge service {s.name!r} needs a judge callable")
        if node is not None:
            missing = [k for k in node.successors if k not in s.peers]
            if missing:
                raise ValueError(f"agent {s.name!r}: no address for successor(s) {missing} (give --peer NAME=URL)")
        self.settings = s
        self.name = s.name
        self.urls = {p.name: p.url for p in s.peers.values()}  # where each peer is reached: config only
        self.keys = keys
        self.journal = journal
        self.sender = sender
        self.node = node
        self.work = work
        self.judge = judge
        self.clock = clock
        self.guard = ReplayGuard(s.window_s, clock=clock)
        self._logged: dict[str, tuple[float, int]] = {}  # reason -> (last logged, not logged since)
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.inbox: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.outbox = Outbox()
        self.seen = Lru(s.dedupe_size)
        self.applied = Lru(s.dedupe_size)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._room = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._deliveries: dict[str, asyncio.Task[Any]] = {}
        self._threads: Any = None
        self._since_snapshot = 0
        self._last_snapshot = clock()
        self._replaying = False
        self._aborted = False
        self._audit: Any = None
        self._outcomes: Any = None
        self.ready = False
        self.restored: dict[str, int] = {}
        self.fatal: str | None = None
        self.on_fatal: Callable[[], None] | None = None
        self._loaded = False

    # ================================================================ lifecycle
    async def start(self) -> None:
        """Restore from the snapshot and journal (unless :meth:`restore` ran), then start
        workers and deliveries."""
        if not self._loaded:
            self.restore()
        if self.settings.work_threads > 0:
            import anyio

            self._threads = anyio.CapacityLimiter(self.settings.work_threads)
        if self.settings.audit_path is not None:
            self.settings.audit_path.parent.mkdir(parents=True, exist_ok=True)
            self._audit = self.settings.audit_path.open("a", buffering=1)
        if self.settings.outcomes_path is not None:
            self.settings.outcomes_path.parent.mkdir(parents=True, exist_ok=True)
            self._outcomes = self.settings.outcomes_path.open("a", buffering=1)
        for hid in self.inbox:
            self._queue.put_nowait(hid)
        for msg in list(self.outbox.values()):
            self._deliver_later(msg)
        for _ in range(self.settings.concurrency):
            self._spawn(self._worker())
        self._spawn(self._housekeeping())
        self.ready = True
        self.restored = {"pending": len(self.pending), "inbox": len(self.inbox), "outbox": len(self.outbox)}
        log.info("%s ready (%d pending decisions, %d handoffs to redo, %d messages owed)",
                 self.name, len(self.pending), len(self.inbox), len(self.outbox))

    async def stop(self) -> None:
        """Stop workers and deliveries, write a snapshot, close files."""
        if self._aborted:
            return
        self.ready = False
        tasks = list(self._tasks) + list(self._deliveries.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.checkpoint()
        self.journal.close()
        for fh in (self._audit, self._outcomes):
            if fh is not None:
                fh.close()

    def abort(self) -> None:
        """Drop everything in memory as a killed process would (tests): no snapshot, no more writes."""
        self._aborted = True
        self.ready = False
        for t in list(self._tasks) + list(self._deliveries.values()):
            t.cancel()
        self.journal.close()
        for fh in (self._audit, self._outcomes):
            if fh is not None:
                fh.close()

    def _write(self, record: dict[str, Any]) -> None:
        """Journal ``record``, or stop the service (memory and journal would disagree from here)."""
        try:
            self.journal.append(record)
        except (OSError, ValueError) as exc:
            self._fail_stop(f"journal write failed ({type(exc).__name__}: {exc})")
            raise ServiceStopped(self.fatal) from None

    def _fail_stop(self, reason: str) -> None:
        if self.fatal is not None:
            return
        self.fatal = reason
        log.critical("%s stops: %s; restart it to recover from its journal", self.name, reason)
        self.abort()
        if self.on_fatal is not None:
            self.on_fatal()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ================================================================ receiving
    def _reject(self, kind: str, sender: object, reason: str, message: str) -> Ack:
        """Count, log (never a key) and answer a rejection; nothing else changes. At most one
        warning per reason every ``_LOG_EVERY_S`` seconds (anyone can send junk: the logs must
        not be floodable); the count says how many were not logged."""
        self.rejected[reason] += 1
        now = self.clock()
        last, quiet = self._logged.get(reason, (-_LOG_EVERY_S, 0))
        if now - last >= _LOG_EVERY_S:
            more = f" ({quiet} more not logged)" if quiet else ""
            log.warning("%s rejected %s from %r: %s (%s)%s", self.name, kind, sender, reason, message, more)
            self._logged[reason] = (now, 0)
        else:
            self._logged[reason] = (last, quiet + 1)
        return STATUS.get(reason, 400), {"status": "rejected", "reason": reason}

    def _authenticate(self, raw: bytes, signature: str | None, max_bytes: int, kind: str) -> dict[str, Any]:
        """Size, JSON, key of the claimed sender, signature: the parsed envelope, or raise."""
        obj = decode_json(raw, max_bytes)
        sender = obj.get("from")
        if not isinstance(sender, str):
            raise ProtocolError("schema", f"{kind} has no string field 'from'")
        verify(self.keys.key(sender), raw, signature)
        return obj

    async def receive_handoff(self, raw: bytes, signature: str | None) -> Ack:
        """A forward handoff arrives: accept it (journaled, queued), or say why not."""
        sender: object = None
        if self._aborted:
            return 503, {"status": "rejected", "reason": "starting"}
        try:
            obj = self._authenticate(raw, signature, self.settings.max_artifact_bytes, "handoff")
            sender = obj.get("from")
            env = decode_handoff(obj)
            self._check_handoff(env)
            self.guard.check(env.nonce, env.ts)
        except (ProtocolError, SecurityError) as exc:
            return self._reject("handoff", sender, exc.reason, str(exc))
        if env.handoff in self.seen:
            return self._seen_before(env)
        if not self.ready:
            return self._reject("handoff", sender, "starting", "service is starting")
        if len(self.inbox) >= self.settings.inbox_size:
            self.rejected["busy"] += 1
            return 503, {"status": "rejected", "reason": "busy"}
        rec = env.to_wire()
        del rec["ts"], rec["nonce"]
        try:
            self._write({"op": "in", "env": rec})
        except ServiceStopped:
            return 503, {"status": "rejected", "reason": "starting"}
        self._accept(rec)
        self._queue.put_nowait(env.handoff)
        return 202, {"status": "accepted"}

    def _seen_before(self, env: Handoff) -> Ack:
        """A handoff id seen before: a duplicate from its sender, a conflict from anyone else."""
        owner = self.seen.get(env.handoff)
        if owner is not None and owner != env.sender:
            return self._reject("handoff", env.sender, "conflict",
                                f"handoff {env.handoff!r} was already handed off here by {owner!r}")
        self.counters["duplicate_handoffs"] += 1
        return 200, {"status": "duplicate"}

    def _check_handoff(self, env: Handoff) -> None:
        if env.sender not in self.settings.accept_from:
            raise ProtocolError("not_allowed",
                                f"{env.sender!r} may not hand off to {self.name!r} (not in --accept-from)")
        if env.recipient != self.name:
            raise ProtocolError("wrong_recipient", f"handoff is for {env.recipient!r}, this is {self.name!r}")
        if env.handoff != handoff_id(env.task, env.hop):
            raise ProtocolError("schema", f"handoff id {env.handoff!r} is not task#hop ({env.task}#{env.hop})")
        if env.reply_to is not None and env.sender not in self.urls:
            raise ProtocolError("no_reply_address",
                                f"{env.sender!r} asks for a reply but {self.name!r} has no address for it "
                                f"(give --peer {env.sender}=URL)")

    def _accept(self, rec: dict[str, Any]) -> None:
        self.inbox[rec["handoff"]] = rec
        self.seen.add(rec["handoff"], rec["from"])
        self.counters["accepted"] += 1
        self._tick()

    async def receive_reply(self, raw: bytes, signature: str | None) -> Ack:
        """A reply arrives on the learning channel: apply it once, or say why not."""
        sender: object = None
        if self._aborted:
            return 503, {"status": "rejected", "reason": "starting"}
        try:
            obj = self._authenticate(raw, signature, self.settings.max_reply_bytes, "reply")
            sender = obj.get("from")
            reply = decode_reply(obj, self.settings.max_magnitude)
            if reply.recipient != self.name:
                raise ProtocolError("wrong_recipient", f"reply is for {reply.recipient!r}, this is {self.name!r}")
            self.guard.check(reply.nonce, reply.ts)
            if reply.handoff in self.applied:
                self.counters["duplicate_replies"] += 1
                return 200, {"status": "duplicate"}
            self._check_reply(reply)
        except (ProtocolError, SecurityError) as exc:
            return self._reject("reply", sender, exc.reason, str(exc))
        return self._learn_reply(reply)

    def _learn_reply(self, reply: Reply) -> Ack:
        """Apply an authenticated, in-protocol reply (journaled after the node accepted it)."""
        try:
            self._apply(reply.handoff, reply.v, reply.tau, reply.R)
        except NonFiniteQError as exc:  # nothing changed: the decision still waits (or expires)
            return self._reject("reply", reply.sender, "out_of_range", str(exc))
        except ValueError as exc:  # the node has no such decision: a bug, not the sender's fault
            log.error("%s: reply to %s could not be applied: %s", self.name, reply.handoff, exc)
            self.pending.pop(reply.handoff, None)
            self.counters["internal_errors"] += 1
            return 409, {"status": "rejected", "reason": "unknown_handoff"}
        try:
            self._write({"op": "apply", "h": reply.handoff, "m": [reply.v, reply.tau, reply.R]})
        except ServiceStopped:
            return 503, {"status": "rejected", "reason": "starting"}
        self._tick()
        self._audit_reply("applied", reply)
        return 200, {"status": "applied"}

    def _check_reply(self, reply: Reply) -> None:
        want = self.pending.get(reply.handoff)
        if want is None:
            raise ProtocolError("unknown_handoff", f"no decision waits for a reply to handoff {reply.handoff!r}")
        if want["to"] != reply.sender:
            raise ProtocolError("wrong_sender",
                                f"handoff {reply.handoff!r} went to {want['to']!r}, not {reply.sender!r}")
        if want["task"] != reply.task:
            raise ProtocolError("schema", f"handoff {reply.handoff!r} belongs to task {want['task']!r}")

    def _apply(self, key: str, v: float, tau: int, reward: float) -> bool:
        """Learn decision ``key`` from ``(v, tau, R)`` (the one place a reply changes the node);
        a decision that already learned is refused, counted in ``repeat_updates`` and logged
        (live, a repeated reply is a ``duplicate`` before it gets here; a journal holding one
        ``apply`` twice is what this catches on replay)."""
        assert self.node is not None
        if key in self.applied:
            self.counters["repeat_updates"] += 1
            log.error("%s: decision %s already learned from a reply; not applied again", self.name, key)
            return False
        self.node.learn(key, v, tau, reward)
        self.pending.pop(key, None)
        self.applied.add(key)
        self.counters["updates"] += 1
        return True

    # ================================================================ working
    async def _worker(self) -> None:
        while True:
            hid = await self._queue.get()
            rec = self.inbox.get(hid)
            if rec is None:
                continue
            # back-pressure: take no new work while too many forwards are owed (successors slow or
            # down); replies do not count here - a dead predecessor must not stop this service
            async with self._room:
                await self._room.wait_for(lambda: self.outbox.forwards + 1 <= self.settings.outbox_size)
            try:
                if self.settings.role == "judge":
                    await self._judge_one(rec)
                else:
                    await self._work_one(rec)
            except asyncio.CancelledError:
                raise
            except ServiceStopped:
                return
            except Exception:  # a bug must not stop the worker: the task ends as if the work failed
                log.exception("%s: processing handoff %s failed", self.name, hid)
                self.counters["internal_errors"] += 1
                if hid in self.inbox:
                    with contextlib.suppress(ServiceStopped):
                        self._finish_failed(rec)

    async def _work_one(self, rec: dict[str, Any]) -> None:
        where = f"agent {self.name!r} work"
        try:
            res = as_work_result(await call(self.work, rec["artifact"], self._threads), where)  # type: ignore[arg-type]
            encode({"artifact": res.artifact})  # it must travel as JSON: fail here, before any decision
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("%s: work failed on task %s: %s: %s", self.name, rec["task"], type(exc).__name__, exc)
            self._finish_failed(rec)
            return
        if rec["handoff"] in self.inbox:
            self._finish(rec, res)

    def _replies(self, rec: dict[str, Any], v: float, tau: int, reward: float) -> list[OutMessage]:
        """The reply owed to ``rec``'s predecessor: none if it is not learning, or if it already
        has its quota of replies owed (it is down or gone: dropped, counted, logged)."""
        peer = rec["from"]
        if rec["reply_to"] is None:
            return []
        if self.outbox.replies[peer] >= self.settings.replies_per_peer:
            self.counters["replies_dropped"] += 1
            log.warning("%s: reply to %s for %s dropped: %d replies already owed to it", self.name, peer,
                        rec["handoff"], self.outbox.replies[peer])
            return []
        fields = {"task": rec["task"], "handoff": rec["handoff"], "v": v, "tau": tau, "R": reward}
        return [OutMessage(f"reply:{rec['handoff']}", "reply", peer, self.urls[peer], fields, self.clock())]

    def _finish(self, rec: dict[str, Any], res: WorkResult) -> None:
        """After the work: reply, choose, forward - node calls and the journal record together.

        As the router: a report at the handoff cap ends the task; the predecessor's decision
        learns ``(0, tau, R + penalty)`` and no successor is chosen.
        """
        assert self.node is not None
        mode = weakest_mode(self.settings.mode, rec["mode"])
        obs = self.node.observe(res.artifact, mode)
        capped = rec["hop"] >= self.settings.max_handoffs
        own_r = -self.settings.cost_weight * res.cost
        v = 0.0 if capped else self.node.value(obs)
        msgs = self._replies(rec, v, res.duration, own_r + (self.settings.penalty if capped else 0.0))
        k, recorded = None, False
        key = handoff_id(rec["task"], rec["hop"] + 1)
        if not capped:
            k, recorded = self.node.decide(key, obs, mode)
            msgs.append(self._forward_msg(rec, key, k, recorded, res.artifact))
        done = {"op": "done", "h": rec["handoff"], "obs": obs, "k": k, "mode": mode, "rec": recorded,
                "out": None if k is not None else res.artifact, "msgs": [m.to_record() for m in msgs]}
        self._after_decision(rec, key, k, recorded, obs)
        self._write(done)
        self._settle(rec["handoff"], msgs)

    def _forward_msg(self, rec: dict[str, Any], key: str, k: str, recorded: bool, artifact: Any) -> OutMessage:
        peer = self.settings.peers[k]
        fields = {"task": rec["task"], "handoff": key, "hop": rec["hop"] + 1, "mode": rec["mode"],
                  "reply_to": self.settings.url if recorded else None, "artifact": artifact}
        return OutMessage(f"handoff:{key}", "handoff", peer.name, peer.url, fields, self.clock())

    def _after_decision(self, rec: dict[str, Any], key: str, k: str | None, recorded: bool, obs: Any) -> None:
        """Bookkeeping of a processed handoff (shared by live processing and replay)."""
        self.counters["processed"] += 1
        if k is None:
            self.counters["tasks_capped"] += 1
        if recorded and k is not None:
            self.counters["decisions"] += 1
            self.pending[key] = {"task": rec["task"], "to": self.settings.peers[k].name, "k": k, "obs": obs,
                                 "t": self.clock()}

    def _finish_failed(self, rec: dict[str, Any]) -> None:
        """A work that raised: the task ends here; the predecessor learns the penalty."""
        msgs = self._replies(rec, 0.0, 1, self.settings.penalty)
        self.counters["work_failed"] += 1
        self._write({"op": "failed", "h": rec["handoff"], "msgs": [m.to_record() for m in msgs]})
        self._settle(rec["handoff"], msgs)

    async def _judge_one(self, rec: dict[str, Any]) -> None:
        try:
            reward = as_reward(await call(self.judge, rec["artifact"], self._threads), f"judge {self.name!r}")  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("%s: judge failed on task %s: %s: %s", self.name, rec["task"], type(exc).__name__, exc)
            reward = self.settings.penalty
        if rec["handoff"] not in self.inbox:
            return
        msgs = self._replies(rec, 0.0, 1, reward)
        self._write({"op": "judged", "h": rec["handoff"], "r": reward, "msgs": [m.to_record() for m in msgs]})
        self.counters["tasks_finished"] += 1
        self._settle(rec["handoff"], msgs)
        if self._outcomes is not None:
            import json

            self._outcomes.write(json.dumps({"task": rec["task"], "reward": reward, "hops": rec["hop"],
                                             "mode": rec["mode"], "t": self.clock(),
                                             "artifact": rec["artifact"]}) + "\n")

    def _settle(self, hid: str, msgs: list[OutMessage]) -> None:
        """A handoff is done: it leaves the inbox and its messages join the outbox."""
        self.inbox.pop(hid, None)
        for m in msgs:
            self.outbox.add(m)
            if m.kind == "reply":
                self._audit_out(m)
        self._tick()
        for m in msgs:
            self._deliver_later(m)

    # ================================================================ delivering
    def _deliver_later(self, msg: OutMessage) -> None:
        if msg.mid in self._deliveries:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(msg))
        self._deliveries[msg.mid] = task

    async def _deliver(self, msg: OutMessage) -> None:
        url = self.urls.get(msg.recipient) if msg.kind == "reply" else msg.url
        try:
            if url is None:  # a reply owed to a peer that is no longer configured (restart with new peers)
                log.error("%s: no address for %s any more (--peer); reply %s dropped", self.name, msg.recipient,
                          msg.mid)
                ok = False
            else:
                ok = await self.sender.deliver(dataclasses.replace(msg, url=url))
        finally:
            self._deliveries.pop(msg.mid, None)
        try:
            self._write({"op": "ack", "m": msg.mid, "ok": ok})
        except ServiceStopped:
            return
        self._acked(msg.mid, ok)
        self._tick()
        async with self._room:
            self._room.notify_all()

    def _acked(self, mid: str, ok: bool) -> None:
        msg = self.outbox.pop(mid)
        self.counters["delivered" if ok else "undeliverable"] += 1
        if not ok and msg is not None and msg.kind == "handoff":
            self._abandon(msg.fields["handoff"], "successor rejected the handoff")

    def _abandon(self, key: str, why: str) -> None:
        if self.pending.pop(key, None) is not None:
            assert self.node is not None
            self.node.forget(key)
            self.counters["abandoned"] += 1
            log.warning("%s: decision %s abandoned: %s", self.name, key, why)

    # ================================================================ housekeeping
    def _tick(self) -> None:
        self._since_snapshot += 1
        if not self._replaying and self._since_snapshot >= self.settings.checkpoint_every:
            self._try_checkpoint()

    def _try_checkpoint(self) -> None:
        """A snapshot, or an error logged: a failed snapshot loses nothing (the old snapshot
        and the whole journal stay), so the service goes on and tries again later."""
        try:
            self.checkpoint()
        except OSError as exc:
            log.error("%s: snapshot failed (%s); the journal keeps every record", self.name, exc)
            self._last_snapshot = self.clock()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(min(self.settings.checkpoint_interval_s, 1.0))
            try:
                self._expire()
            except ServiceStopped:
                return
            if self._since_snapshot and self._due():
                self._try_checkpoint()

    def _due(self) -> bool:
        return self.clock() - self._last_snapshot >= self.settings.checkpoint_interval_s

    def _expire(self) -> None:
        horizon = self.clock() - self.settings.decision_ttl_s
        old = [k for k, p in self.pending.items() if p["t"] < horizon and f"handoff:{k}" not in self.outbox]
        for key in old:
            self._write({"op": "forget", "h": key})
            self._abandon(key, f"no reply within {self.settings.decision_ttl_s:g} s")

    def checkpoint(self) -> None:
        """Write this service's snapshot (atomic) and start an empty journal."""
        state = {
            "node": None if self.node is None else self.node.state_dict(),
            "pending": self.pending,
            "inbox": self.inbox,
            "outbox": [m.to_record() for m in self.outbox.values()],
            "seen": [[h, who] for h, who in self.seen.items.items()],
            "applied": list(self.applied.items),
            "counters": dict(self.counters),
        }
        self.journal.snapshot(state)
        self._since_snapshot = 0
        self._last_snapshot = self.clock()

    # ================================================================ restoring
    def restore(self) -> None:
        """Load the snapshot and replay the journal (raises :class:`JournalError` naming the file
        or record that cannot be restored); :meth:`start` calls it if it was not called before."""
        self._loaded = True
        state, records = self.journal.load()
        if state is not None:
            self.pending = dict(state["pending"])
            self.inbox = dict(state["inbox"])
            for r in state["outbox"]:
                self.outbox.add(OutMessage.from_record(r))
            for hid, who in state["seen"]:
                self.seen.add(hid, who)
            for hid in state["applied"]:
                self.applied.add(hid)
            self.counters.update(state["counters"])
            if self.node is not None and state["node"] is not None:
                self.node.restore(state["node"], [(k, p["obs"], p["k"]) for k, p in self.pending.items()])
        self._replaying = True
        try:
            for rec in records:
                self._replay(rec)
        finally:
            self._replaying = False
        if records:
            log.info("%s replayed %d journal records", self.name, len(records))

    def _replay(self, rec: dict[str, Any]) -> None:
        """Re-apply one journal record: the same state changes as when it was first written."""
        op = rec["op"]
        if op == "in":
            self._accept(rec["env"])
        elif op == "done":
            self._replay_done(rec)
        elif op == "apply":
            v, tau, reward = rec["m"]
            self._apply(rec["h"], v, tau, reward)
        elif op == "ack":
            self._acked(rec["m"], rec["ok"])
        elif op == "forget":
            self._abandon(rec["h"], "expired")
        elif op in ("judged", "failed"):
            self.counters["tasks_finished" if op == "judged" else "work_failed"] += 1
            self._restore_msgs(rec)
        else:
            raise JournalError(f"{self.journal.journal_path}: unknown record {op!r}")

    def _replay_done(self, rec: dict[str, Any]) -> None:
        assert self.node is not None
        src = self.inbox.get(rec["h"])
        msgs = [OutMessage.from_record(m) for m in rec["msgs"]]
        out = rec["out"] if rec["out"] is not None else msgs[-1].fields["artifact"]
        obs = self.node.observe(out, rec["mode"])
        if obs != rec["obs"]:
            raise JournalError(f"{self.name}: replaying handoff {rec['h']} viewed {obs}, the journal says {rec['obs']}")
        task, hop = rec["h"].rsplit("#", 1)
        key = handoff_id(task, int(hop) + 1)
        k, recorded = None, False
        if rec["k"] is not None:
            k, recorded = self.node.decide(key, obs, rec["mode"])
            if (k, recorded) != (rec["k"], rec["rec"]):
                raise JournalError(f"{self.name}: replaying handoff {rec['h']} chose {k!r}, the journal says "
                                   f"{rec['k']!r}")
        self._after_decision(src or {"task": task}, key, k, recorded, obs)
        self._restore_msgs(rec)

    def _restore_msgs(self, rec: dict[str, Any]) -> None:
        self.inbox.pop(rec["h"], None)
        for m in rec["msgs"]:
            self.outbox.add(OutMessage.from_record(m))

    # ================================================================ reporting
    def stats(self) -> dict[str, Any]:
        """Counters and queue sizes (no keys, no artifacts)."""
        return {
            "name": self.name,
            "role": self.settings.role,
            "ready": self.ready,
            "counters": dict(self.counters),
            "rejected": dict(self.rejected),
            "pending": len(self.pending),
            "inbox": len(self.inbox),
            "outbox": len(self.outbox),
            "attempts": self.sender.attempts,
            "retries": self.sender.retries,
            "gave_up": self.sender.gave_up,
            "failing_peers": self.sender.failing_peers(),
            "fatal": self.fatal,
        }

    def _audit_reply(self, event: str, reply: Reply) -> None:
        if self._audit is not None:
            import json

            self._audit.write(json.dumps({"event": event, "from": reply.sender, "to": reply.recipient,
                                          "task": reply.task, "handoff": reply.handoff,
                                          "v": reply.v, "tau": reply.tau, "R": reply.R}) + "\n")

    def _audit_out(self, msg: OutMessage) -> None:
        if self._audit is not None:
            import json

            f = msg.fields
            self._audit.write(json.dumps({"event": "sent", "from": self.name, "to": msg.recipient, "task": f["task"],
                                          "handoff": f["handoff"], "v": f["v"], "tau": f["tau"], "R": f["R"]}) + "\n")
