"""Integer arithmetic the tiling code shares (golden models, layouts, the power model)."""


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for integers, exact for any size (no float)."""
    return -(-a // b)
