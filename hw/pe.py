"""Weight-stationary FP32 processing element."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import ArrayParams
from .fp32 import FPAdd, FPMul


def pe_signature() -> wiring.Signature:
    return wiring.Signature({
        "a_in": In(32), "a_valid_in": In(1), "a_first_in": In(1),
        "a_out": Out(32), "a_valid_out": Out(1), "a_first_out": Out(1),
        "psum_in": In(32), "psum_out": Out(32),
        "w_we": In(1), "w_in": In(32),
    })


class PE(wiring.Component):
    """``psum_out = psum_in + w * a`` with a shadow weight for the next tile.

    * Activations move right one PE per cycle with their ``valid`` and
      ``first`` tags.  ``first`` marks the first vector of a new weight tile:
      on it the PE computes with the shadow weight and copies it into the
      active register, so tiles switch without a bubble.
    * The shadow register is written from ``w_in`` (the column's weight bus,
      shared by every row) when ``w_we`` is set.  The controller writes each
      row just after the previous tile's ``first`` wave has left it and before
      the next tile's wave arrives, so loading needs no shift chain and no
      extra storage: a row's window opens C cycles after the row's first PE
      switched, independent of the other rows (see accelerator.py).
    * Partial sums move down through the adder's output register; the
      multiplier and adder latencies set the array's skew (see array.py).
    Data registers load only on valid cycles, so idle PEs do not toggle.
    """

    def __init__(self, params: ArrayParams = ArrayParams()):
        self.params = params
        super().__init__(pe_signature())

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul = mul = FPMul(self.params.mul)
        m.submodules.add = add = FPAdd(self.params.add)

        shadow = Signal(32)
        active = Signal(32)
        with m.If(self.w_we):
            m.d.sync += shadow.eq(self.w_in)
        take_shadow = self.a_valid_in & self.a_first_in
        with m.If(take_shadow):
            m.d.sync += active.eq(shadow)

        m.d.comb += [
            mul.in_valid.eq(self.a_valid_in),
            mul.a.eq(Mux(self.a_first_in, shadow, active)),
            mul.b.eq(self.a_in),
            add.in_valid.eq(mul.out_valid),
            add.a.eq(self.psum_in),
            add.b.eq(mul.result),
            self.psum_out.eq(add.result),
        ]

        a_reg = Signal(32)
        with m.If(self.a_valid_in):
            m.d.sync += a_reg.eq(self.a_in)
        m.d.sync += [self.a_valid_out.eq(self.a_valid_in), self.a_first_out.eq(self.a_first_in & self.a_valid_in)]
        m.d.comb += self.a_out.eq(a_reg)
        return m
