"""ray.util: helpers built on the core API (as Ray's ray.util)."""

from ray.util.actor_pool import ActorPool

__all__ = ["ActorPool"]
