"""The distributed runtime on Ray: every agent is an actor; only handoff messages reach it.

* :class:`~handoffq.runtime.ray.agent_actor.AgentActor` - one per agent, owning its agent
  object (estimator, generator, counters) and its own checkpoint file; it accepts learning
  input only as three-number message batches.
* :class:`~handoffq.runtime.ray.env_actor.EpisodeActor` - an environment actor running the
  shared :class:`~handoffq.runtime.loop.EpisodeLoop` over its own environment copies, with the
  agents reached through :class:`~handoffq.runtime.ray.team.RemoteTeam`.
* :class:`~handoffq.runtime.ray.runner.RayRunner` - the driver: budgets in chunks
  (:mod:`~handoffq.runtime.ray.budget`), per-agent checkpoints after each chunk, restarts.

Faults: agent actors are restarted by Ray and reload their latest checkpoint; the rounds that
were using a dying actor lose their episodes (counted) and training goes on. A dead
environment actor loses only its own episodes; the driver re-issues its share of the chunk.
``ray.init`` settings come from the user: ``address`` (or ``RAY_ADDRESS``) connects to a
cluster; by default a local Ray is started.
"""

from handoffq.runtime.ray.runner import RayRunner
from handoffq.runtime.ray.util import actor_died, ensure_ray

__all__ = ["RayRunner", "actor_died", "ensure_ray"]
