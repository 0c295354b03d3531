"""The interface between a multi-packet network and its routers (routing under load).

A packet network (:class:`~handoffq.envs.packet_network.PacketNetwork`) carries many packets at
once. All routers of one routing algorithm form a *team* (:class:`PacketTeam`) that the network
calls with arrays, one row per packet, each row naming the router that acts on it. A team
implements its algorithm *per router*: what a router decides and learns may depend only on its
own tables, its own observation of the packets it holds, its own links and clock, and what its
neighbours send it.

Two kinds of teams:

* **IC-Q interface** (``replies = True``). A router sees only its own observation of a packet
  (``obs``: the destination and, depending on the network's ``obs_kind``, how long the packet
  will be detained in its queue) and its live links, and learns only from the three numbers
  ``(v, tau, R)`` its successor sends back. The *network* asks the successor for its value
  (:meth:`PacketTeam.value`, at the successor's own observation), sends each reply through the
  audited :class:`~handoffq.core.channel.Channel` (:func:`~handoffq.core.channel.deliver_replies`)
  and hands the deliveries to the predecessors (:meth:`PacketTeam.receive`); the team never
  sees another router's table or observation. Pending decisions are keyed by the packet's
  storage slot (the runner's key, as in the episode loop).
* **Packet algorithms** (``replies = False``: the Q-routing family, the shortest-path oracle).
  They read the packet fields a real router could read (:class:`PacketView`) in the hooks
  :meth:`PacketTeam.on_arrival` / :meth:`PacketTeam.on_service` and exchange their own
  scalars; every scalar one router sends another is counted in ``scalars``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, Protocol

import numpy as np

from handoffq.core.channel import Delivery

__all__ = ["NetworkView", "PacketTeam", "PacketView"]


@dataclass
class PacketView:
    """What routers may read about the packets of one call (arrays, one entry per packet).

    ``slot``: the packet's storage slot (a router keys its pending decision by it);
    ``router``: the router acting (receiving or serving the packet); ``prev``: the router that
    sent it here (``-1`` at its source); ``dest``, ``src``: its addresses (in its header);
    ``birth``: injection step; ``sent_at``: when ``prev`` sent it; ``wait_prev``: how long it
    waited in ``prev``'s queue; ``position``: its place in ``router``'s FIFO queue - at arrival
    the place it takes (it will wait exactly that many steps; 0 for a packet that is delivered
    or dropped there), at service the steps it waited.
    """

    slot: np.ndarray
    router: np.ndarray
    prev: np.ndarray
    dest: np.ndarray
    src: np.ndarray
    birth: np.ndarray
    sent_at: np.ndarray
    wait_prev: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return int(self.slot.shape[0])

    def select(self, mask: np.ndarray) -> PacketView:
        """The rows where ``mask`` is true (or the rows listed in an index array)."""
        return PacketView(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


class NetworkView(Protocol):
    """What a team learns about the network when it is attached: its routers and their links.

    ``nbr[i, c]`` is router ``i``'s ``c``-th neighbour (sorted; ``-1`` past its degree ``deg[i]``);
    ``live[i, c]`` whether that link is up now; ``obs_kind`` / ``obs_nvec`` describe the
    observations the network hands an IC-Q-interface team and ``timing`` when successors reply
    (``"arrival"`` or ``"service"``); ``capacity`` is the most packets in flight (packet slots
    are ``0 .. capacity - 1``).
    """

    n: int
    nbr: np.ndarray
    deg: np.ndarray
    max_deg: int
    live: np.ndarray
    capacity: int
    obs_kind: str
    obs_nvec: tuple[int, ...]
    timing: str


class PacketTeam:
    """Base class of a routing algorithm run by every router of a network (no-op hooks).

    At every step the network calls :meth:`on_arrival` for the packets that arrived (delivered
    ones flagged), :meth:`on_service` for the packets routers take from their queues,
    :meth:`decide` for their successors (a column of the router's neighbour list; ``live`` is
    the ``(B, max_deg)`` mask of live links) and :meth:`on_send`. For IC-Q-interface teams
    (``replies = True``) it also calls :meth:`value` and :meth:`receive` (see the module
    docstring).
    """

    name: ClassVar[str] = "team"
    replies: ClassVar[bool] = False

    def __init__(self) -> None:
        self.scalars = 0

    def attach(self, net: NetworkView) -> None:
        """Called once by the network before the first step."""
        self.net = net

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Column (index into the router's sorted neighbours) for each served packet; ``obs``
        is the serving router's observation of it (IC-Q interface)."""
        raise NotImplementedError

    def value(self, routers: np.ndarray, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """The scalar ``v`` each router sends back when it becomes active for a packet it
        observes as ``obs`` (IC-Q interface only)."""
        raise NotImplementedError(f"team {self.name} does not reply with handoff messages")

    def receive(self, t: int, deliveries: Sequence[Delivery]) -> None:
        """Replies that crossed the channel, one :class:`Delivery` per predecessor (keys: the
        packets' slots; IC-Q interface only)."""
        raise NotImplementedError(f"team {self.name} does not learn from handoff messages")

    def on_arrival(self, t: int, view: PacketView, delivered: np.ndarray) -> None:
        """Packets ``view`` arrived at ``view.router`` from ``view.prev`` at step ``t``."""

    def on_service(self, t: int, view: PacketView) -> None:
        """Routers ``view.router`` take packets ``view`` from their queues at step ``t``."""

    def on_send(self, t: int, view: PacketView, cols: np.ndarray) -> None:
        """Routers ``view.router`` sent packets ``view`` through columns ``cols`` at step ``t``."""

    def on_drop(self, t: int, slots: np.ndarray) -> None:
        """Packets in ``slots`` were lost (their pending decisions will get no reply)."""

    def on_link_change(self, t: int, u: int, v: int, up: bool) -> None:
        """Link ``u - v`` changed state (``u`` and ``v`` see it; an oracle may see more)."""
