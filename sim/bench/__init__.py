"""Benchmarks: ``make bench`` / ``python -m sim bench`` (or ``python -m sim.bench``) writes BENCHMARKS.md.

Modules: :mod:`.write` (the sections and the writer), :mod:`.scalesim` (SCALE-Sim's
weight-stationary cycle count, for side-by-side figures).
"""
