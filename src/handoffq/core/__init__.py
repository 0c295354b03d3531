"""Core types: the handoff message, the environment protocol, the audited channel, the PettingZoo adapter."""
