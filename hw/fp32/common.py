"""Bit-level helpers shared by the FP32 multiplier and adder."""

from amaranth.hdl import Cat, Const, Mux, Value

EXP_BITS = 8
FRAC_BITS = 23
EXP_MAX = 0xFF
QNAN = 0x7FC00000


def unpack(word: Value, ftz: bool):
    """Split a binary32 word into its fields and classification flags.

    ``mant`` carries the hidden bit (0 for subnormals) and ``exp_eff`` is the
    exponent the significand is scaled by, so subnormals need no special path:
    value = mant * 2**(exp_eff - 150).  With ``ftz`` a subnormal reads as zero.
    """
    sign = word[31]
    exp = word[23:31]
    frac = word[0:23]
    exp_zero = exp == 0
    exp_ones = exp == EXP_MAX
    frac_zero = frac == 0
    is_zero = exp_zero if ftz else (exp_zero & frac_zero)
    mant = Mux(is_zero, 0, Cat(frac, ~exp_zero))
    return dict(
        sign=sign,
        exp_eff=Mux(exp_zero, 1, exp),
        mant=mant,
        is_zero=is_zero,
        is_inf=exp_ones & frac_zero,
        is_nan=exp_ones & ~frac_zero,
    )


def count_leading_zeros(x: Value) -> Value:
    """Leading-zero count of ``x`` as a log-depth tree (len(x) if x == 0)."""
    width = len(x)
    size = 1
    while size < width:
        size *= 2
    padded = Cat(Const(0, size - width), x) if size > width else x
    count = _clz_pow2(padded)
    # The zero padding sits at the bottom, so it only matters when x == 0.
    return Mux(x == 0, width, count)


def _clz_pow2(x: Value) -> Value:
    n = len(x)
    if n == 1:
        return ~x[0]
    half = n // 2
    hi, lo = x[half:], x[:half]
    hi_zero = hi == 0
    return Mux(hi_zero, half + _clz_pow2(lo), _clz_pow2(hi))


def shift_right_sticky(x: Value, amount: Value, max_shift: int):
    """Shift ``x`` right by ``amount`` (saturating at ``max_shift``).

    Returns (shifted, sticky): sticky is the OR of every bit shifted out.
    """
    width = len(x)
    amount_c = Mux(amount > max_shift, max_shift, amount)
    wide = Cat(Const(0, max_shift), x) >> amount_c
    return wide[max_shift:max_shift + width], wide[0:max_shift].any()


def round_pack(sign, field, mant23, guard, sticky, ftz: bool):
    """Round to nearest even and pack.

    ``field`` is the biased exponent (0 for a subnormal) before rounding and
    ``mant23`` the fraction; the rounding increment may carry into the
    exponent (subnormal -> normal, or largest finite -> infinity), which is
    exactly IEEE behaviour.  ``field >= 255`` means overflow to infinity.
    """
    magnitude = Cat(mant23, field[0:8])
    round_up = guard & (sticky | mant23[0])
    rounded = (magnitude + round_up)[0:31]
    overflow = field >= EXP_MAX
    result = Mux(overflow, Cat(Const(0, 23), Const(EXP_MAX, 8), sign), Cat(rounded, sign))
    if ftz:
        result = Mux(result[23:31] == 0, Cat(Const(0, 31), sign), result)
    return result
