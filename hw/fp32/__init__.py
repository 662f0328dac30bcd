"""IEEE-754 binary32 arithmetic units: a pipelined multiplier and adder."""

from .params import FPParams
from .mul import FPMul
from .add import FPAdd

__all__ = ["FPParams", "FPMul", "FPAdd"]
