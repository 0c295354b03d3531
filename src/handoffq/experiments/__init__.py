"""Experiments and the registry behind ``handoffq experiment`` and ``reproduce``.

One module (or, for T1 and T2, one package split into config / cells / summary / figures) per
experiment; :mod:`handoffq.experiments.synthetic` holds what T1 and T2 share.
"""
