"""Event counts of one accelerator layer that toggle coverage cannot give: FP ops and SRAM accesses.

Toggle counts say how much wires and registers switched, not how many times
a memory was read or an FP unit fired.  These follow from the controller's
documented schedule (hw/accelerator.py) and its performance counters:

* **FP operations.**  Every issued vector passes through all R x C PEs, each
  doing one multiply and one add (padded rows and columns included: they
  compute -0.0 products nobody reads).  Issues = ``cycles_compute``
  (= KT x MT x N), so ops = issues x R x C of each kind.
* **Scratchpad reads.**  The generated scratchpads' read ports have read
  enables, set only when the word is used: R weight words per tile, one
  input, one accumulator (K-tiles after the first) and one bias word (first
  K-tile, with bias) per issue, and the MT x N results read back once each
  by the DMA (the default, what the RTL does).  ``read_ports_always_enabled
  =True`` prices a design without enables: every port (one on the weights,
  inputs and bias, two on the accumulators) reads every cycle.
* **Scratchpad writes.**  The words loaded (weights, inputs, bias) and one
  accumulator word per issue.
"""

from sim.core.arith import ceil_div

from .model import SramTraffic


def fp_ops(params, m: int, k: int, n: int, *, issues: int | None = None) -> dict:
    """``{"fp32_mul": ops, "fp32_add": ops}`` for one layer (``issues`` = the compute counter if known)."""
    R, C = params.rows, params.cols
    if issues is None:
        issues = ceil_div(k, R) * ceil_div(m, C) * n
    ops = issues * R * C
    return {"fp32_mul": ops, "fp32_add": ops}


def scratchpad_traffic(params, m: int, k: int, n: int, *, cycles: int, use_bias: bool = False,
                       read_ports_always_enabled: bool = False) -> list[SramTraffic]:
    """Reads and writes of the four scratchpads over one layer of ``cycles`` clock cycles."""
    R, C = params.rows, params.cols
    KT, MT = ceil_div(k, R), ceil_div(m, C)
    tiles, issues = KT * MT, KT * MT * n
    row_c, row_r = 32 * C, 32 * R

    def size(words, width):
        return words * width / 8

    if read_ports_always_enabled:
        reads = {"weights": cycles, "inputs": cycles, "bias": cycles, "acc": 2 * cycles}
    else:
        reads = {"weights": tiles * R, "inputs": issues, "bias": MT * n if use_bias else 0,
                 "acc": (KT - 1) * MT * n + MT * n}
    writes = {"weights": tiles * R, "inputs": KT * n, "bias": MT if use_bias else 0, "acc": issues}
    return [
        SramTraffic("weights", size(params.weight_words, row_c), row_c, reads["weights"], writes["weights"]),
        SramTraffic("inputs", size(params.input_words, row_r), row_r, reads["inputs"], writes["inputs"]),
        SramTraffic("bias", size(params.bias_words, row_c), row_c, reads["bias"], writes["bias"]),
        SramTraffic("acc", size(params.acc_words, row_c), row_c, reads["acc"], writes["acc"]),
    ]
