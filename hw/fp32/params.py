"""Generator parameters shared by the FP32 units."""

from dataclasses import dataclass

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

# Default pipeline depth of each unit.  Two register stages (one inside the
# datapath, one on the output) split the longest path -- the 24x24 mantissa
# product in the multiplier, the alignment shift plus 28-bit add in the adder --
# from normalisation and rounding.  That is comfortably inside the paper's
# 200 MHz (5 ns) clock at 40 nm; BENCHMARKS.md lists the Yosys logic depth of
# every latency setting so users can pick a deeper pipeline for a faster clock.
DEFAULT_MUL_LATENCY = 2
DEFAULT_ADD_LATENCY = 2


@dataclass(frozen=True)
class FPParams:
    """Parameters of one FP32 unit.

    latency: cycles from ``in_valid`` to ``out_valid`` (>= 1); the output is
             always registered.
    ftz:     flush subnormal inputs and results to signed zero (opt-in; the
             default is full IEEE gradual underflow).
    """

    latency: int = 2
    ftz: bool = False

    def __post_init__(self):
        if not isinstance(self.latency, int) or isinstance(self.latency, bool) or self.latency < 1:
            raise ValueError(f"latency must be an integer >= 1, got {self.latency!r}")
        if not isinstance(self.ftz, bool):
            raise ValueError(f"ftz must be a bool, got {self.ftz!r}")


class FPUnit(wiring.Component):
    """Ports shared by both units: ``clk, rst, in_valid, a, b, out_valid, result``."""

    def __init__(self, params: FPParams):
        self.params = params
        super().__init__({
            "in_valid": In(1),
            "a": In(32),
            "b": In(32),
            "out_valid": Out(1),
            "result": Out(32),
        })

    @property
    def latency(self):
        return self.params.latency
