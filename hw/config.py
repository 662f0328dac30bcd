"""Generator parameters of the systolic array and the accelerator.

One frozen dataclass, validated once, passed everywhere and printed in every
manifest and report (the Gemmini way).
"""

from dataclasses import asdict, dataclass

from .fp32.params import DEFAULT_ADD_LATENCY, DEFAULT_MUL_LATENCY, FPParams



@dataclass(frozen=True)
class ArrayParams:
    """Shape of the weight-stationary array and its FP32 pipelines.

    rows: R, the reduction (K) dimension; cols: C, the output (M) dimension.
    """

    rows: int = 32
    cols: int = 32
    mul_latency: int = DEFAULT_MUL_LATENCY
    add_latency: int = DEFAULT_ADD_LATENCY
    ftz: bool = False

    def __post_init__(self):
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 256:
                raise ValueError(f"{name} must be an integer from 1 to 256, got {value!r}")
        FPParams(self.mul_latency, self.ftz)
        FPParams(self.add_latency, self.ftz)

    @property
    def mul(self) -> FPParams:
        return FPParams(self.mul_latency, self.ftz)

    @property
    def add(self) -> FPParams:
        return FPParams(self.add_latency, self.ftz)

    @property
    def latency(self) -> int:
        """Cycles from a vector entering the array wrapper to its de-skewed outputs."""
        return self.rows * self.add_latency + self.mul_latency + self.cols - 1

    @property
    def load_after(self) -> int:
        """Cycles after a tile's first vector issues until the next tile's weight stream may start.

        The first vector reaches PE (r, c) 1 + r*La + c cycles after it
        issued (one cycle for the operand read); the stream writes row r
        2 + r*La cycles after it started (one cycle to start, one to read the
        scratchpad).  Writing row r at the cycle its last PE takes the old
        shadow is still safe (the PE reads the shadow before the clock edge),
        so the stream may start C - 2 cycles after the issue, and no earlier
        than the cycle after it (the controller sees the issue one cycle
        late).
        """
        return max(self.cols - 2, 1)

    @property
    def stream_cycles(self) -> int:
        """Cycles one weight stream reads the scratchpad: one row every La cycles."""
        return (self.rows - 1) * self.add_latency + 1

    @property
    def min_tile_period(self) -> int:
        """Fewest cycles between the first vectors of consecutive tiles (no stalls, N small).

        A tile may issue 2 cycles after its stream started, and the next
        stream starts ``load_after`` cycles after that issue: C cycles per
        tile for C >= 3.  Two streams (at most two are active) overlap and
        must not read in the same cycle: their starts may not differ by a
        multiple of La while the earlier one runs (any difference for
        La = 1), and the stream before the previous must have ended
        (``stream_cycles`` + 1 cycles after it started).  On 32x32 with
        La = 2 that is 33 cycles (32 is even, so one more).  For La <= 2 a
        run never takes longer than max(N, this) per tile; with La >= 3 the
        engine rule can alternate longer and shorter periods, averaging a
        little more (sim/golden/perf.py is exact in every case).
        """
        la, span = self.add_latency, self.stream_cycles
        period = self.load_after + 2
        while (2 * period < span + 1
               or (period < span and period % la == 0)):
            period += 1
        return period


@dataclass(frozen=True)
class AcceleratorParams:
    """An array plus scratchpads sized in words.

    weight_words: words of C floats (one row of a weight tile each);
    input_words:  words of R floats (one K-slice of an input vector);
    acc_words:    words of C floats (accumulators / outputs);
    bias_words:   words of C floats (one per M-tile).
    """

    array: ArrayParams = ArrayParams()
    weight_words: int = 1024
    input_words: int = 1024
    acc_words: int = 1024
    bias_words: int = 64
    # > 0: weights stream through a ring of this many tiles (filled by the
    # DMA while earlier tiles compute) instead of holding the whole layer;
    # weight_words must then be weight_ring_tiles * rows.
    weight_ring_tiles: int = 0

    def __post_init__(self):
        if not isinstance(self.array, ArrayParams):
            raise ValueError("array must be an ArrayParams")
        if self.weight_ring_tiles < 0:
            raise ValueError("weight_ring_tiles must be >= 0")
        if self.weight_ring_tiles and self.weight_words != self.weight_ring_tiles * self.array.rows:
            raise ValueError("with a weight ring, weight_words must equal weight_ring_tiles * rows")
        for name in ("weight_words", "input_words", "acc_words", "bias_words"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= (1 << 24):
                raise ValueError(f"{name} must be an integer from 1 to 2**24, got {value!r}")

    @property
    def rows(self):
        return self.array.rows

    @property
    def cols(self):
        return self.array.cols

    def as_dict(self) -> dict:
        return asdict(self)
