"""Energy of the flow's layers from the run's event counts, plus toggles when captured (sim/power).

By default the flow prices events:

* FP operations: issued vectors x R x C multiplies and adds per accelerator,
  at the table's per-op energy for random operands (operand activity at the
  table's reference; the FP tests validate that point);
* scratchpads: the reads the schedule makes (the RTL's read ports are
  enabled only for words it uses) plus the words written, by memory size;
* DRAM: bytes read and written and row activations counted by the DRAM
  model, plus background power over the phase for every memory port (each
  port is a channel with its own rank);
* clock and leakage of the active accelerators' flip-flops, FP units and
  SRAM over the phase.  The baseline is charged one accelerator; the pruned
  run the accelerators it uses.

``make sim POWER=toggles`` adds the register and wire toggles of every
component, captured from the SoC (sim/designs/soc/soc_driver.capture_spec): on flat
builds everything, FP operations at their measured operand activity; on the
32x32 builds, whose PE is a hierarchical block with coverage off inside,
everything but the PE's internals, the PE's port registers counted at the
array.  Without it register and wire toggle energy is reported as zero.
"""

from functools import lru_cache

from sim.power.accelerator import fp_ops, scratchpad_traffic
from sim.power.capture import design_inventory
from sim.power.model import Activity, DramTraffic, FPOps, SramTraffic, compute_energy
from sim.power.tables import load_table

TABLES = ("aladdin-40nm", "horowitz-45nm")


@lru_cache(maxsize=4)
def _accelerator(accel_params):
    """The accelerator's netlist: its flip-flops, FP units and SRAM."""
    from sim.designs.accel.accel import accelerator_source
    from sim.power.netlist import Design
    return Design.from_verilog([accelerator_source(accel_params)], top="pp_accel", root="accel_tb.dut")


@lru_cache(maxsize=32)
def _inventory(accel_params, active: int):
    return design_inventory(_accelerator(accel_params), copies=active)


@lru_cache(maxsize=4)
def tables():
    return {name: load_table(name) for name in TABLES}


def phase_energy(accel_params, jobs: dict, counters: dict, phase_cycles: int, memory: dict, bus_bytes: int,
                 toggles=None, mem_ports: int = 1) -> dict:
    """{table: EnergyBreakdown} for one phase; ``jobs`` {acc: LayerJob}, ``counters`` {acc: counters}.

    ``toggles`` (a power.ToggleSummary of the SoC, from ``make sim POWER=toggles``)
    adds register and wire toggles per component and prices the FP operations
    at their measured operand activity instead of the table's reference."""
    active = len(jobs)
    ops = {"fp32_mul": 0, "fp32_add": 0}
    sram = {}
    for acc, job in jobs.items():
        m, k = job.W.shape
        n = job.X.shape[1]
        for op, count in fp_ops(accel_params, m, k, n, issues=counters[acc]["compute"]).items():
            ops[op] += count
        for s in scratchpad_traffic(accel_params, m, k, n, cycles=phase_cycles, use_bias=job.bias is not None):
            slot = sram.setdefault(s.name, SramTraffic(s.name, s.size_bytes, s.width_bits))
            slot.reads += s.reads
            slot.writes += s.writes
    operand = toggles.fp_operand_toggles if toggles is not None else {}
    activity = Activity(
        cycles=int(phase_cycles), toggles=dict(toggles.by_component) if toggles is not None else {},
        fp_ops=[FPOps(op, count, operand.get(op)) for op, count in ops.items()],
        sram=list(sram.values()),
        dram=DramTraffic(bytes_read=memory["read_beats"] * bus_bytes, bytes_written=memory["write_beats"] * bus_bytes,
                         activations=memory["row_activations"], bursts=memory["read_bursts"] + memory["write_bursts"],
                         channels=mem_ports),
        inventory=_inventory(accel_params, active))
    return {name: compute_energy(activity, table) for name, table in tables().items()}
