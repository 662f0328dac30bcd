"""Verilog for the hierarchical blocks: the PE and the PE row converted once, placed by Instance.

Every top is converted with its ports named explicitly (:func:`flat_ports`),
so the Verilog has the standard flat AXI names (``m_axi_awaddr``) rather than
Amaranth's ``m_axi__aw__addr``, and the manifest can list them without
reading the Verilog back.
"""

from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.lib import wiring

from .accelerator import Accelerator
from .array import SystolicArray
from .axi import flat_port_name
from .config import AcceleratorParams, ArrayParams
from .instance import ModuleInstance
from .pe import PE, pe_signature
from .pe_row import PERow, pe_row_signature

PE_MODULE = "pp_pe"


def _flat_members(component: wiring.Component):
    """(Verilog name, member, signal) for every port of ``component``.

    Names come from the component's ``port_name(path)`` where it has one, or
    else from :func:`hw.axi.flat_port_name`.
    """
    name_of = getattr(component, "port_name", flat_port_name)
    for path, member, value in component.signature.flatten(component):
        yield name_of(path), member, Value.cast(value)


def flat_ports(component: wiring.Component) -> dict:
    """Verilog port name -> (signal, None): the form ``verilog.convert(ports=)`` takes
    (the direction is the signature's, which Amaranth infers from the drivers)."""
    return {name: (signal, None) for name, _, signal in _flat_members(component)}


def port_table(component: wiring.Component) -> dict:
    """Verilog port name -> {"direction": "In"/"Out", "width": bits}, for manifests:
    the clock and reset the conversion adds, then the signature's ports."""
    table = {"clk": {"direction": "In", "width": 1}, "rst": {"direction": "In", "width": 1}}
    table.update({name: {"direction": "In" if member.flow == wiring.In else "Out", "width": len(signal)}
                  for name, member, signal in _flat_members(component)})
    return table


def convert(component: wiring.Component, name: str) -> str:
    return verilog.convert(component, name=name, ports=flat_ports(component), emit_src=False)


def pe_verilog(params: ArrayParams, name: str = PE_MODULE) -> str:
    return convert(PE(params), name)


def pe_row_verilog(params: ArrayParams, name: str, pe_module: str) -> str:
    """The PE row as module ``name``, placing the PE module ``pe_module``."""
    row = PERow(params, pe_factory=lambda: ModuleInstance(pe_signature(), pe_module))
    return convert(row, name)


def _rows(params: ArrayParams, name: str):
    """The row factory of top ``name``'s array: Instances of module ``{name}_pe_row``."""
    return lambda: ModuleInstance(pe_row_signature(params.cols), f"{name}_pe_row")


def with_pe(top: wiring.Component, params: ArrayParams, name: str, pe_text: str | None = None) -> str:
    """``top`` converted as module ``name``, after the modules it instantiates:
    the PE ``{name}_pe`` (the Amaranth PE, or ``pe_text``, a module with the
    same ports and timing, e.g. a simulation model) and the row ``{name}_pe_row``."""
    pe = pe_text if pe_text is not None else pe_verilog(params, f"{name}_pe")
    return pe + pe_row_verilog(params, f"{name}_pe_row", f"{name}_pe") + convert(top, name)


def array_verilog(params: ArrayParams, name: str = "pp_array", tag_width: int = 1) -> str:
    return with_pe(array_top(params, name, tag_width), params, name)


def array_top(params: ArrayParams, name: str = "pp_array", tag_width: int = 1) -> SystolicArray:
    return SystolicArray(params, tag_width=tag_width, row_factory=_rows(params, name))


def accelerator_top(params: AcceleratorParams, name: str = "pp_accel") -> Accelerator:
    return Accelerator(params, row_factory=_rows(params.array, name))


def accelerator_verilog(params: AcceleratorParams, name: str = "pp_accel") -> str:
    return with_pe(accelerator_top(params, name), params.array, name)


def soc_top(params, name: str = "pp_soc"):
    from .soc import SoC
    return SoC(params, row_factory=_rows(params.array, name))


def soc_verilog(params, name: str = "pp_soc", pe_text: str | None = None) -> str:
    """The SoC, its PE and PE row modules first (see :func:`with_pe`)."""
    return with_pe(soc_top(params, name), params.array, name, pe_text)
