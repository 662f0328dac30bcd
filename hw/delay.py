"""Fixed-length delay lines (shift registers) used for skew and tags."""

from amaranth.hdl import Signal, Value


def delay(m, value, cycles: int, name: str):
    """Return ``value`` delayed by ``cycles`` clock cycles (0 = the value itself)."""
    value = Value.cast(value)
    for i in range(cycles):
        reg = Signal(value.shape(), name=f"{name}_d{i + 1}")
        m.d.sync += reg.eq(value)
        value = reg
    return value
