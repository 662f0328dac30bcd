"""The end-to-end experiment (``make sim`` / ``make sweep``, ``python -m sim.flow``).

Modules: :mod:`.experiment` (one run: train, prune, simulate on the SoC, report),
:mod:`.config` (settings, checked up front), :mod:`.model` (the prepared model),
:mod:`.trace` (torch's forward pass), :mod:`.energy` (energy per phase),
:mod:`.sweep` (P x memory ports, locally or on Ray), :mod:`.predict` (the sweep's
cycle-model engine).

The names below were ``sim.flow``'s public ones when the flow was one module;
they stay importable from here.
"""

from .experiment import (PAPER, ProgressLog, host_bytes, layer_jobs, log, main, memory_params, roofline,
                         run, run_baseline, soc_params, total_roofline)

__all__ = ["PAPER", "ProgressLog", "host_bytes", "layer_jobs", "log", "main", "memory_params", "roofline",
           "run", "run_baseline", "soc_params", "total_roofline"]
