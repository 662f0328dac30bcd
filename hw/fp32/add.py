"""Pipelined IEEE-754 binary32 adder."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal

from .common import QNAN, count_leading_zeros, round_pack, shift_left, shift_right_sticky, unpack
from .params import FPParams, FPUnit, DEFAULT_ADD_LATENCY
from .pipeline import build_pipeline

# Significands are carried with three extra low bits (guard, round, sticky):
# enough for correct rounding because a subtraction that cancels more than one
# leading bit had an alignment shift of at most one, so nothing was lost.
GRS = 3


class FPAdd(FPUnit):
    """``result = a + b``, round to nearest even, one operation per cycle.

    Datapath:
      1. unpack; order the operands so ``big`` has the larger magnitude;
      2. align ``small`` to ``big``'s exponent, shifted-out bits -> sticky;
      3. add or subtract the 28-bit significands (never negative);
      4. normalise: shift the leading one to bit 27, but never below the
         subnormal exponent (then the leading bit stays 0 and the field is 0);
      5. round to nearest even, pack, select NaN / infinity.
    An exact zero sum is +0 unless both operands are -0 (RNE sign rule).
    """

    # Register boundaries, best first: after the add, after the alignment,
    # after normalising, after unpacking.
    PREFERRED_CUTS = [3, 2, 4, 1]

    def __init__(self, params: FPParams = FPParams(latency=DEFAULT_ADD_LATENCY)):
        super().__init__(params)

    def elaborate(self, platform):
        m = Module()
        ftz = self.params.ftz

        def order(v):
            a, b = unpack(v["a"], ftz), unpack(v["b"], ftz)
            a_bigger = v["a"][0:31] >= v["b"][0:31]
            pick = lambda key: (Mux(a_bigger, a[key], b[key]), Mux(a_bigger, b[key], a[key]))
            big_sign, small_sign = pick("sign")
            big_exp, small_exp = pick("exp_eff")
            big_mant, small_mant = pick("mant")
            nan = a["is_nan"] | b["is_nan"] | (a["is_inf"] & b["is_inf"] & (a["sign"] != b["sign"]))
            return dict(
                nan=nan,
                inf=~nan & (a["is_inf"] | b["is_inf"]),
                both_neg=a["sign"] & b["sign"],
                sign=big_sign,
                subtract=big_sign != small_sign,
                exp=big_exp,
                distance=big_exp - small_exp,
                big=Cat(Const(0, GRS), big_mant),
                small=Cat(Const(0, GRS), small_mant),
            )

        def align(v):
            out = {k: v[k] for k in ("nan", "inf", "both_neg", "sign", "subtract", "exp", "big")}
            shifted, lost = shift_right_sticky(m, v["small"], v["distance"][0:8], 28, "add_align")
            out["small"] = shifted | lost
            return out

        def add(v):
            out = {k: v[k] for k in ("nan", "inf", "both_neg", "sign", "exp")}
            out["sum"] = Mux(v["subtract"], v["big"] - v["small"], v["big"] + v["small"])[0:28]
            return out

        def normalise(v):
            total = v["sum"]
            lz = count_leading_zeros(total)
            # Never shift past the subnormal exponent: at most exp - 0 places.
            shift = Signal(range(29), name="add_norm_shift")
            m.d.comb += shift.eq(Mux(lz > v["exp"], v["exp"], lz))
            aligned = shift_left(m, total, shift, "add_norm")
            field = Mux(aligned[27], v["exp"] + 1 - shift, 0)
            exact_zero = total == 0
            return dict(
                nan=v["nan"], inf=v["inf"],
                sign=Mux(exact_zero, v["both_neg"], v["sign"]),
                field=field[0:9],
                mant23=aligned[4:27],
                guard=aligned[3],
                sticky=aligned[0:3].any(),
            )

        def round_select(v):
            finite = round_pack(v["sign"], v["field"], v["mant23"], v["guard"], v["sticky"], ftz)
            signed_inf = Cat(Const(0, 23), Const(0xFF, 8), v["sign"])
            return dict(result=Mux(v["nan"], QNAN, Mux(v["inf"], signed_inf, finite)))

        valid, out = build_pipeline(
            m, [order, align, add, normalise, round_select], self.PREFERRED_CUTS,
            self.params.latency, self.in_valid, dict(a=self.a, b=self.b))
        m.d.comb += [self.out_valid.eq(valid), self.result.eq(out["result"])]
        return m
