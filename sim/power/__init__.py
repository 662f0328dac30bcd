"""Power model: toggle counts and event counts -> energy per component (see docs/architecture.md, "Energy model").

    from sim.power import load_table, compute_energy, measure_fp_stream
    m = measure_fp_stream("mul", a, b, simulator="verilator", run_dir="build/runs/power")
    for name in ("aladdin-40nm", "horowitz-45nm"):
        print(name, compute_energy(m.activity, load_table(name)).total_pj)

Modules: :mod:`.tables` (energy tables with sources), :mod:`.activity`
(coverage.dat and VCD readers), :mod:`.netlist` (flip-flops, memories and
instances of the generated Verilog), :mod:`.classify` (toggles -> components),
:mod:`.model` (the energy formula), :mod:`.capture` (instrumented runs),
:mod:`.report` (report.json / report.md / PNG parts).
"""

from .activity import CoverageFileError, SignalToggles, read_coverage, read_vcd
from .capture import (activity_from_toggles, measure_fp_stream, read_toggles,
                      with_toggle_capture)
from .classify import ClassMap, Rule, summarize
from .model import (Activity, DramTraffic, EnergyBreakdown, FPOps, Inventory, SramTraffic,
                    compute_energy)
from .netlist import Design, scan_verilog
from .tables import EnergyTable, EnergyTableError, load_table, shipped_tables

__all__ = [
    "Activity", "ClassMap", "CoverageFileError", "Design", "DramTraffic", "EnergyBreakdown",
    "EnergyTable", "EnergyTableError", "FPOps", "Inventory", "Rule",
    "SignalToggles", "SramTraffic", "activity_from_toggles", "compute_energy",
    "load_table", "measure_fp_stream", "read_coverage", "read_toggles", "read_vcd",
    "scan_verilog", "shipped_tables", "summarize", "with_toggle_capture",
]
