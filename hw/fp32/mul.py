"""Pipelined IEEE-754 binary32 multiplier."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal

from .common import QNAN, count_leading_zeros, round_pack, shift_left, shift_right_sticky, unpack
from .params import FPParams, FPUnit, DEFAULT_MUL_LATENCY
from .pipeline import build_pipeline


class FPMul(FPUnit):
    """``result = a * b``, round to nearest even, one operation per cycle.

    Datapath (value = mant * 2**(exp_eff - 150) for every finite input):
      1. unpack and classify both operands;
      2. 24x24 -> 48-bit significand product, exponent sum;
      3. normalise: shift the product's leading one to bit 47; if the result is
         below the normal range, shift right instead so its exponent is the
         subnormal one, folding shifted-out bits into a sticky bit;
      4. round to nearest even, pack, select NaN / infinity / zero.
    """

    # Register boundaries, best first: after the product, after normalising,
    # after unpacking.
    PREFERRED_CUTS = [2, 3, 1]

    def __init__(self, params: FPParams = FPParams(latency=DEFAULT_MUL_LATENCY)):
        super().__init__(params)

    def elaborate(self, platform):
        m = Module()
        ftz = self.params.ftz

        def classify(v):
            a, b = unpack(v["a"], ftz), unpack(v["b"], ftz)
            nan = a["is_nan"] | b["is_nan"] | (a["is_inf"] & b["is_zero"]) | (a["is_zero"] & b["is_inf"])
            return dict(
                sign=a["sign"] ^ b["sign"],
                nan=nan,
                inf=~nan & (a["is_inf"] | b["is_inf"]),
                zero=~nan & (a["is_zero"] | b["is_zero"]),
                mant_a=a["mant"], mant_b=b["mant"],
                exp_sum=a["exp_eff"] + b["exp_eff"],
            )

        def multiply(v):
            out = {k: v[k] for k in ("sign", "nan", "inf", "zero", "exp_sum")}
            out["product"] = v["mant_a"] * v["mant_b"]          # 48 bits
            return out

        def normalise(v):
            product = v["product"][0:48]
            lz = count_leading_zeros(product)
            aligned = shift_left(m, product, lz, "mul_norm")                     # leading one at bit 47
            # Biased exponent of the aligned product: exp_a + exp_b - 126 - lz.
            exp = Signal(range(-200, 512), name="mul_exp")
            m.d.comb += exp.eq(v["exp_sum"] - 126 - lz)
            subnormal = exp < 1
            shifted, lost = shift_right_sticky(m, aligned, (1 - exp)[0:9], 50, "mul_denorm")
            mant48 = Mux(subnormal, shifted, aligned)
            out = {k: v[k] for k in ("sign", "nan", "inf", "zero")}
            out.update(
                field=Mux(subnormal, 0, Mux(exp > 255, 255, exp))[0:9],
                mant23=mant48[24:47],
                guard=mant48[23],
                sticky=mant48[0:23].any() | (subnormal & lost),
            )
            return out

        def round_select(v):
            finite = round_pack(v["sign"], v["field"], v["mant23"], v["guard"], v["sticky"], ftz)
            signed_inf = Cat(Const(0, 23), Const(0xFF, 8), v["sign"])
            signed_zero = Cat(Const(0, 31), v["sign"])
            result = Mux(v["nan"], QNAN, Mux(v["inf"], signed_inf, Mux(v["zero"], signed_zero, finite)))
            return dict(result=result)

        valid, out = build_pipeline(
            m, [classify, multiply, normalise, round_select], self.PREFERRED_CUTS,
            self.params.latency, self.in_valid, dict(a=self.a, b=self.b))
        m.d.comb += [self.out_valid.eq(valid), self.result.eq(out["result"])]
        return m
