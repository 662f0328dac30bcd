"""Cycle model of the accelerator controller: what the counters must read.

Derived from the controller's rules (hw/accelerator.py), not fitted:

* setup: 3 cycles (latch, tile counts, validation);
* the first weight tile loads in R + 2 cycles (read, push, mark full);
* tile j issues its N vectors back to back, starting once its weights are in
  the shadow registers and the previous tile has issued;
* tile j+1's weights start loading ``swap = max((R-1)*La + C - 3, 0) + 1``
  cycles after tile j's first vector issued and are ready R + 2 cycles later;
* a vector of K-tile kt > 0 waits until the same output words of K-tile kt-1
  are written back (``latency + 2`` cycles after they issued);
* after the last issue the pipeline drains: array latency + 2 cycles, plus
  the cycle that raises ``done``.

So, without dependency stalls, a run of T = ceil(K/R)*ceil(M/C) tiles takes
    3 + (R + 2) + (T - 1) * max(N, swap + R + 2) + N + latency + 2
cycles; ``cycles()`` handles the stall case exactly by walking the vectors.
"""

from hw.config import ArrayParams
from hw.accelerator import SETUP_CYCLES


def _ceil_div(a, b):
    return -(-a // b)


def cycles(array: ArrayParams, M: int, K: int, N: int) -> dict:
    R, C = array.rows, array.cols
    La = array.add_latency
    latency = array.latency
    swap = max((R - 1) * La + C - 3, 0) + 1
    KT, MT = _ceil_div(K, R), _ceil_div(M, C)
    tiles = KT * MT
    issue = []                  # issue cycle of every vector, in order
    ready = R + 2               # weights of tile 0 are in the shadow registers
    t = 0                       # next free issue cycle
    weight_wait = stall = 0
    for j in range(tiles):
        kt = j // MT
        start = max(t, ready)
        weight_wait += start - t
        t = start
        for n in range(N):
            g = j * N + n
            earliest = t
            if kt > 0:
                earliest = max(earliest, issue[g - MT * N] + latency + 2)
            stall += earliest - t
            t = earliest
            issue.append(t)
            t += 1
        ready = issue[j * N] + swap + R + 2
    last = issue[-1]
    running = last + latency + 3
    total_vectors = tiles * N
    return {
        "total": SETUP_CYCLES + running,
        "setup": SETUP_CYCLES,
        "compute": total_vectors,
        "weight_wait": weight_wait,
        "stall": stall,
        "drain": latency + 2,
        "weight_load": tiles * R,
    }


def ideal_cycles(array: ArrayParams, M: int, K: int, N: int) -> float:
    """M*K*N MACs on R*C PEs: the bound every systolic array is measured against."""
    return M * K * N / (array.rows * array.cols)
