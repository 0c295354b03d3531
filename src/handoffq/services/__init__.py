"""Agents as services across trust boundaries (the ``[services]`` extra).

Each agent runs as its own service (``handoffq serve-agent``) hosting one
:class:`~handoffq.router.node.AgentNode`: the artifact travels forward as the workflow's own
payload (plain HTTP/JSON or A2A), and the learning channel carries exactly ``(v, tau, R)``
plus ids back to the predecessor, every message authenticated (per-pair HMAC, nonce,
timestamp window) and applied exactly once (handoff ids, journal, snapshots).

Modules: :mod:`.protocol` (envelopes and their validation), :mod:`.security` (keys, HMAC,
replay guard), :mod:`.journal` (durable state), :mod:`.delivery` (at-least-once sending),
:mod:`.service` (the service core), :mod:`.app` (HTTP), :mod:`.a2a_bridge` (A2A mapping),
:mod:`.config` / :mod:`.cli` / :mod:`.compose` (running them), :mod:`.local` (in-process,
for tests and benchmarks). Nothing here is imported by ``import handoffq``.
"""
