"""Shared pieces of the synthetic-IC-SMDP experiments T1 and T2 (paper section 5.1).

* :mod:`.exact` - exact quantities of one instance on its finite model: the oracle, the
  uniform behaviour and its stationary law, exact values of learned policies, normalised
  scores, relative errors and the fixed points of the decentralised learners;
* :mod:`.learners` - the learners' settings (typed options) and their training on the
  vectorised environment through the shared episode loop: IC-Q (tabular or neural), naive
  independent Q, and centralised Q on the latent state (the privileged upper reference).
"""
