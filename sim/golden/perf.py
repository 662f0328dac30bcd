"""Cycle model of the accelerator controller: what the counters must read.

Derived from the controller's rules (hw/accelerator.py), not fitted:

* setup: 3 cycles (latch, tile counts, validation);
* tile j's weights stream into the shadow registers, one row every La
  cycles (row r behind the previous tile's ``first`` wave); the stream of
  tile 0 starts on the first running cycle, that of tile j+1 once tile j's
  first vector issued ``load_after = max(C - 2, 1)`` cycles ago and
    - one of the two stream engines is free: the stream of tile j-1 ended,
      ``stream_cycles + 1 = (R-1)*La + 2`` cycles after it started;
    - it would not read the scratchpad in a cycle that tile j's stream
      reads: the start times may not differ by a multiple of La while
      the difference is at most (R-1)*La;
* tile j issues its N vectors back to back, from 2 cycles after its stream
  started (row 0 written) and once the previous tile has issued;
* a vector of K-tile kt > 0 waits until the same output words of K-tile kt-1
  are written back (``latency + 2`` cycles after they issued);
* after the last issue the pipeline drains: array latency + 2 cycles, plus
  the cycle that raises ``done``.

So, without dependency stalls, a run of T = ceil(K/R)*ceil(M/C) tiles takes
at most
    3 + 2 + (T - 1) * max(N, min_tile_period) + N + latency + 2
cycles for La <= 2 (``ArrayParams.min_tile_period``: 33 on 32x32 with
La = 2, so weight loading is hidden for N >= 33); fewer when the
two-engine rule has not bound yet.  With La >= 3 that rule can make
consecutive tile periods alternate around min_tile_period.  ``cycles()`` is
exact in every case, stalls included, by walking the tiles and vectors.
"""

from hw.config import ArrayParams
from hw.accelerator import SETUP_CYCLES
from sim.core.arith import ceil_div


def _stream_start(array: ArrayParams, earliest: int, starts: list) -> int:
    """First cycle >= earliest at which a new weight stream may start, given earlier starts."""
    La, span = array.add_latency, array.stream_cycles
    g = earliest
    if len(starts) >= 2:
        g = max(g, starts[-2] + span + 1)
    while starts and g - starts[-1] < span and (g - starts[-1]) % La == 0:
        g += 1
    return g


def cycles(array: ArrayParams, M: int, K: int, N: int) -> dict:
    R, C = array.rows, array.cols
    latency = array.latency
    KT, MT = ceil_div(K, R), ceil_div(M, C)
    tiles = KT * MT
    issue = []                  # issue cycle of every vector, in order
    starts = []                 # start cycle of every weight stream
    t = 0                       # next free issue cycle
    weight_wait = stall = 0
    for j in range(tiles):
        kt = j // MT
        earliest = issue[(j - 1) * N] + array.load_after if j else 0
        starts.append(_stream_start(array, earliest, starts))
        start = max(t, starts[-1] + 2)
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
