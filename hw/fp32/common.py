"""Bit-level helpers shared by the FP32 multiplier and adder."""

from amaranth.hdl import Cat, Const, Mux, Signal, Value

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


def _stage(m, value, name):
    """Name an intermediate value: keeps expression DAGs from being expanded
    into trees (exponentially) by the Amaranth simulator and the backend."""
    sig = Signal(Value.cast(value).shape(), name=name)
    m.d.comb += sig.eq(value)
    return sig


def shift_right_sticky(m, x: Value, amount: Value, max_shift: int, name: str = "shr"):
    """Shift ``x`` right by ``amount`` (anything >= len(x) empties it).

    Returns (shifted, sticky): sticky is the OR of every bit shifted out.
    Built as a log-depth barrel shifter that never widens ``x``: wide
    intermediate values cost area in hardware and are slow in Verilator.
    ``max_shift`` bounds the amounts the caller can produce.
    """
    width = len(x)
    x = _stage(m, x, f"{name}_in")
    sticky = Const(0, 1)
    stages = max(1, (max_shift).bit_length())
    for i in range(stages):
        step = 1 << i
        if step >= width:
            lost, moved = x.any(), Const(0, width)
        else:
            lost, moved = x[:step].any(), Cat(x[step:], Const(0, step))
        take = amount[i] if i < len(amount) else Const(0, 1)
        sticky = _stage(m, sticky | (take & lost), f"{name}_sticky{i}")
        x = _stage(m, Mux(take, moved, x), f"{name}_s{i}")
    if len(amount) > stages:          # amounts beyond the staged range empty x
        overflow = amount[stages:].any()
        sticky = sticky | (overflow & x.any())
        x = Mux(overflow, 0, x)
    return x, sticky


def shift_left(m, x: Value, amount: Value, name: str = "shl"):
    """``(x << amount)`` truncated to len(x), as a barrel shifter of len(x) bits."""
    width = len(x)
    x = _stage(m, x, f"{name}_in")
    for i in range(len(amount)):
        step = 1 << i
        moved = Const(0, width) if step >= width else Cat(Const(0, step), x[:width - step])
        x = _stage(m, Mux(amount[i], moved, x), f"{name}_s{i}")
    return x


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
