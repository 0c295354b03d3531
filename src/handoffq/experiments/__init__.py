"""Experiments (one module each) and the registry behind ``handoffq experiment`` and ``reproduce``."""
