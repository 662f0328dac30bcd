"""What a run measures, as typed records that serialise to report.json's keys.

* :class:`Roofline`: one layer's cycles against its bus and compute bounds;
* :class:`PhaseRecord`: one layer simulated on one SoC (baseline or pruned),
  with the energy model's inputs kept beside it but not serialised;
* :class:`LayerReport`: a layer's pruned and baseline records side by side.

``as_dict()`` gives exactly the JSON the report has always had; the
docs (docs/flow.md, "report.json") list the keys.
"""

import math
from dataclasses import dataclass, field

ROOFLINE_GOAL = 0.9


def share(fraction: float) -> str:
    """A fraction as a percentage: whole percents, but where those would round a figure
    below ROOFLINE_GOAL up to it, one decimal cut off, not rounded (89.7 %, 89.9 % for
    0.8996: never 90 %)."""
    if fraction < ROOFLINE_GOAL <= round(fraction, 2):
        return f"{math.floor(fraction * 1000) / 10:.1f}%"
    return f"{fraction:.0%}"


@dataclass(frozen=True)
class Roofline:
    """How close a layer's cycles come to its bounds (see ``experiment.roofline``).

    ``array_floor_cycles``: the cycles its largest block needs on the array alone, with
    every weight already in place (sim/golden/perf.py), a floor no memory system lowers;
    a layer whose floor is above its bound / ROOFLINE_GOAL cannot reach the goal."""

    bus_bound_cycles: int
    compute_bound_cycles: int
    cycles: int
    array_floor_cycles: int | None = None

    @property
    def bound_cycles(self) -> int:
        return max(self.bus_bound_cycles, self.compute_bound_cycles)

    @property
    def bound(self) -> str:
        return "bus" if self.bus_bound_cycles >= self.compute_bound_cycles else "compute"

    @property
    def roofline_fraction(self) -> float:
        return self.bound_cycles / self.cycles

    @property
    def array_bound(self) -> bool:
        """The array alone needs more than bound / ROOFLINE_GOAL: the goal is out of reach."""
        return self.array_floor_cycles is not None and self.bound_cycles < ROOFLINE_GOAL * self.array_floor_cycles

    def as_dict(self) -> dict:
        return {"bus_bound_cycles": self.bus_bound_cycles, "compute_bound_cycles": self.compute_bound_cycles,
                "cycles": self.cycles, "bound": self.bound, "roofline_fraction": self.roofline_fraction,
                "array_floor_cycles": self.array_floor_cycles}


def _sums(rooflines: list) -> dict:
    bound, cycles = sum(r.bound_cycles for r in rooflines), sum(r.cycles for r in rooflines)
    return {"bound_cycles": bound, "cycles": cycles, "roofline_fraction": bound / cycles}


def total_roofline(rooflines) -> dict:
    """A run's bound: its layers run one after another, so it is the sum of theirs.
    ``without_array_bound``: the same over the layers that can reach ROOFLINE_GOAL
    (None when every layer can, or none)."""
    rooflines = list(rooflines)
    reachable = [r for r in rooflines if not r.array_bound]
    return {"bus_bound_cycles": sum(r.bus_bound_cycles for r in rooflines),
            "compute_bound_cycles": sum(r.compute_bound_cycles for r in rooflines),
            **_sums(rooflines),
            "without_array_bound": _sums(reachable) if 0 < len(reachable) < len(rooflines) else None}


@dataclass
class PhaseRecord:
    """One layer's phase on one SoC: cycles, counters, DRAM traffic and its check."""

    name: str
    shape: list
    batch: int
    partitioned: bool
    accelerators: int
    cycles: int
    phase_cycles: int
    inter_layer_cycles: int
    host_op_cycles: int
    per_accelerator: dict
    dram: dict
    roofline: Roofline
    bit_exact: bool
    mismatches: int
    max_abs_err: float
    golden_vs_torch: dict
    nonzero_weights: int
    wall_seconds: float
    soc_accelerators: int
    sim_seconds: float
    toggles: dict | None
    energy_pj: float | None = None
    # the energy model's inputs for this phase, turned into energy_pj once the
    # whole run (both chains) is known; not part of the report
    energy_inputs: object = field(default=None, repr=False, compare=False)

    @property
    def slowest(self) -> dict:
        """The counters of the accelerator that finished last."""
        return max(self.per_accelerator.values(), key=lambda a: a["finish"])

    def as_dict(self) -> dict:
        record = {
            "name": self.name, "shape": self.shape, "batch": self.batch, "partitioned": self.partitioned,
            "accelerators": self.accelerators, "cycles": self.cycles, "phase_cycles": self.phase_cycles,
            "inter_layer_cycles": self.inter_layer_cycles, "host_op_cycles": self.host_op_cycles,
            "per_accelerator": self.per_accelerator, "dram": self.dram, "roofline": self.roofline.as_dict(),
            "bit_exact": self.bit_exact, "mismatches": self.mismatches, "max_abs_err": self.max_abs_err,
            "golden_vs_torch": self.golden_vs_torch, "nonzero_weights": self.nonzero_weights,
            "wall_seconds": self.wall_seconds, "soc_accelerators": self.soc_accelerators,
            "sim_seconds": self.sim_seconds, "toggles": self.toggles,
        }
        if self.energy_pj is not None:
            record["energy_pj"] = self.energy_pj
        return record


@dataclass
class LayerReport:
    """One accelerated layer in the report: the pruned run's record, with the
    baseline's, where the pruned run's cycles went, and what ran where."""

    pruned: PhaseRecord
    baseline: PhaseRecord
    breakdown: dict
    placement: dict             # fused ops, input source, host operations (experiment.fused_and_host)

    @property
    def name(self) -> str:
        return self.pruned.name

    def as_dict(self) -> dict:
        entry = self.pruned.as_dict()
        entry["baseline_cycles"] = self.baseline.cycles
        entry["baseline"] = self.baseline.as_dict()
        entry["breakdown"] = self.breakdown
        entry["roofline"] = {"baseline": self.baseline.roofline.as_dict(), "pruned": self.pruned.roofline.as_dict()}
        entry.update(self.placement)
        return entry
