"""Baselines: centralised Q on the latent state, naive independent Q, and per-experiment references."""
