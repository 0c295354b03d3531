"""Environments: the synthetic IC-SMDP, a hand-solvable toy, routing, CPU programming and the LLM math workflow."""
