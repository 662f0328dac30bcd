"""One row of the systolic array: C PEs chained left to right."""

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import ArrayParams
from .pe import PE


def pe_row_signature(cols: int) -> wiring.Signature:
    return wiring.Signature({
        "a_in": In(32), "a_valid_in": In(1), "a_first_in": In(1),
        "psum_in": In(32 * cols), "psum_out": Out(32 * cols),
        "w_we": In(1), "w_in": In(32 * cols),
    })


class PERow(wiring.Component):
    """C PEs in a row: the activation enters at PE 0 and moves right one PE a
    cycle; column c's partial sum enters PE c from above and leaves below.
    ``w_we`` writes ``w_in`` (C floats) into the row's shadow weights.

    The row is pure wiring; it exists as a module so that a simulator can
    build it once and place it R times (sim/core/runner.py, hier_blocks):
    Verilator's hierarchical blocks cost an evaluation call per instance and
    clock edge, which for single PEs was most of a 32x32 SoC's simulation time
    (docs/hardware.md, Simulation builds).
    """

    def __init__(self, params: ArrayParams = ArrayParams(), *, pe_factory=None):
        self.params = params
        self._pe_factory = pe_factory or (lambda: PE(params))
        super().__init__(pe_row_signature(params.cols))

    def elaborate(self, platform):
        m = Module()
        C = self.params.cols
        act, valid, first = self.a_in, self.a_valid_in, self.a_first_in
        sums = []
        for c in range(C):
            m.submodules[f"pe_c{c}"] = pe = self._pe_factory()
            lane = slice(32 * c, 32 * (c + 1))
            m.d.comb += [
                pe.a_in.eq(act), pe.a_valid_in.eq(valid), pe.a_first_in.eq(first),
                pe.psum_in.eq(self.psum_in[lane]),
                pe.w_we.eq(self.w_we), pe.w_in.eq(self.w_in[lane]),
            ]
            act, valid, first = pe.a_out, pe.a_valid_out, pe.a_first_out
            sums.append(pe.psum_out)
        m.d.comb += self.psum_out.eq(Cat(*sums))
        return m
