"""Verilog for the hierarchical blocks: the PE converted once, placed by Instance."""

from amaranth.back import verilog

from .accelerator import Accelerator
from .array import SystolicArray
from .config import AcceleratorParams, ArrayParams
from .pe import PE, PEInstance

PE_MODULE = "pp_pe"


def pe_verilog(params: ArrayParams, name: str = PE_MODULE) -> str:
    return verilog.convert(PE(params), name=name, emit_src=False)


def array_verilog(params: ArrayParams, name: str = "pp_array", tag_width: int = 1) -> str:
    array = SystolicArray(params, tag_width=tag_width,
                          pe_factory=lambda: PEInstance(params, f"{name}_pe"))
    return pe_verilog(params, f"{name}_pe") + verilog.convert(array, name=name, emit_src=False)


def accelerator_verilog(params: AcceleratorParams, name: str = "pp_accel") -> str:
    accel = Accelerator(params, pe_factory=lambda: PEInstance(params.array, f"{name}_pe"))
    return pe_verilog(params.array, f"{name}_pe") + verilog.convert(accel, name=name, emit_src=False)


def soc_verilog(params, name: str = "pp_soc", pe_text: str | None = None) -> str:
    """The SoC, its PE module first: the Amaranth PE, or ``pe_text`` (a module named
    ``{name}_pe`` with the same ports and timing, e.g. a simulation model)."""
    from .soc import SoC
    soc = SoC(params, pe_factory=lambda: PEInstance(params.array, f"{name}_pe"))
    pe = pe_text if pe_text is not None else pe_verilog(params.array, f"{name}_pe")
    return pe + verilog.convert(soc, name=name, emit_src=False)
