"""handoffq: IC-Q, decentralised learning of handoffs under interface constraints."""

__version__ = "0.1.0"
