"""The energy model: activity of one run x an energy table -> energy per component.

    E = sum_op   n_op x E_op x (operand toggles per op / reference)      FP arithmetic
      + sum_comp (register toggles x E_reg_toggle + wire toggles x E_wire) toggles
      + flip-flop bits x cycles x E_clock                                 clock
      + sum_mem  (reads x E_read(size, width) + writes x E_write(size, width))  SRAM
      + DRAM bits read x E_rd + bits written x E_wr + activations x E_act
      + DRAM background power x ranks x channels (memory ports) x time
      + (FP units x P_leak + flip-flops x P_leak + SRAM KiB x P_leak) x time

**Operand activity.** A table's per-op figure holds for random operands, where
half of the 2 x 32 operand bits change from one operation to the next (the
table's ``fp_reference_operand_toggles``, 32).  An operation whose operands
change by ``t`` bits on average costs ``E_op x t / 32``: random data lands on
the table value, a stream of identical operands (all zeros) costs no
arithmetic energy at all.  ``operand_toggles`` is the bit toggles measured on
the FP units' ``a`` and ``b`` inputs over the run (toggle coverage); when a
caller has no measurement it may pass ``None`` for the reference activity.

**Time.** ``cycles / clock_hz``: clock, leakage and DRAM background are paid
per cycle whether or not the hardware computes (no clock or power gating).

Everything is in pJ.  :func:`compute_energy` returns an
:class:`EnergyBreakdown` with the terms above (``components``), the toggle
energy per hardware component (``by_unit``) and the totals.
"""

from dataclasses import asdict, dataclass, field

from sim.core.constants import CLOCK_HZ

from .tables import EnergyTable

COMPONENT_ORDER = ("fp_mul", "fp_add", "register_toggles", "wire_toggles", "clock", "sram",
                   "dram_read_write", "dram_activate", "dram_background", "leakage")
FIXED_COMPONENTS = ("clock", "dram_background", "leakage")     # proportional to time


@dataclass
class FPOps:
    op: str                       # "fp32_mul" or "fp32_add"
    count: int                    # operations performed
    operand_toggles: float | None = None   # bit toggles on the a and b inputs, whole run

    def mean_operand_toggles(self, reference: float) -> float:
        if self.operand_toggles is None:
            return reference
        return self.operand_toggles / self.count if self.count else 0.0


@dataclass
class SramTraffic:
    name: str
    size_bytes: float
    width_bits: int
    reads: int = 0
    writes: int = 0


@dataclass
class DramTraffic:
    bytes_read: int = 0
    bytes_written: int = 0
    activations: int | None = None     # None: estimated from the bytes and the row size
    bursts: int | None = None          # informational
    channels: int = 1                  # memory ports, each a DDR3 channel with the table's ranks

    def estimated_activations(self, row_bytes: float) -> float:
        """The counted activations, or for streaming traffic one per row's worth of bytes (an estimate)."""
        if self.activations is not None:
            return self.activations
        return (self.bytes_read + self.bytes_written) / row_bytes


@dataclass
class Inventory:
    """What leaks and what the clock drives."""
    flop_bits: int = 0                 # every clocked flip-flop (clock energy)
    leaky_flop_bits: int | None = None  # flip-flops outside the FP units (their leakage is in the FP figure); None = flop_bits
    fp32_mul_units: int = 0
    fp32_add_units: int = 0
    sram_bytes: float = 0.0


@dataclass
class Activity:
    """Everything one run did, as the energy model needs it."""
    cycles: int
    clock_hz: float = CLOCK_HZ
    toggles: dict = field(default_factory=dict)    # component -> {"reg": n, "wire": n}
    uncharged: tuple = ("fp_units",)              # components whose toggles the FP figure covers
    fp_ops: list = field(default_factory=list)     # [FPOps]
    sram: list = field(default_factory=list)       # [SramTraffic]
    dram: DramTraffic | None = None
    inventory: Inventory = field(default_factory=Inventory)

    @property
    def seconds(self) -> float:
        return self.cycles / self.clock_hz

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Activity":
        data = dict(data)
        data["fp_ops"] = [FPOps(**x) for x in data.get("fp_ops", [])]
        data["sram"] = [SramTraffic(**x) for x in data.get("sram", [])]
        data["dram"] = DramTraffic(**data["dram"]) if data.get("dram") else None
        data["inventory"] = Inventory(**data.get("inventory", {}))
        data["uncharged"] = tuple(data.get("uncharged", ("fp_units",)))
        return cls(**data)

    def scaled(self, k: int) -> "Activity":
        """The same work repeated ``k`` times back to back (for sanity checks)."""
        return Activity(self.cycles * k, self.clock_hz,
                        {c: {kind: n * k for kind, n in v.items()} for c, v in self.toggles.items()},
                        self.uncharged,
                        [FPOps(o.op, o.count * k, None if o.operand_toggles is None else o.operand_toggles * k)
                         for o in self.fp_ops],
                        [SramTraffic(s.name, s.size_bytes, s.width_bits, s.reads * k, s.writes * k) for s in self.sram],
                        None if self.dram is None else DramTraffic(
                            self.dram.bytes_read * k, self.dram.bytes_written * k,
                            None if self.dram.activations is None else self.dram.activations * k,
                            None if self.dram.bursts is None else self.dram.bursts * k, self.dram.channels),
                        self.inventory)


@dataclass
class EnergyBreakdown:
    table: str
    components: dict                  # term -> pJ (COMPONENT_ORDER)
    by_unit: dict                     # hardware component -> toggle pJ
    details: dict                     # per-op energies, activities, time
    total_pj: float

    @property
    def fixed_pj(self) -> float:
        """Energy proportional to time alone (clock, leakage, DRAM background)."""
        return sum(self.components[c] for c in FIXED_COMPONENTS)

    @property
    def activity_pj(self) -> float:
        return self.total_pj - self.fixed_pj

    def as_dict(self) -> dict:
        return {"table": self.table, "total_pj": self.total_pj, "fixed_pj": self.fixed_pj,
                "activity_pj": self.activity_pj, "components_pj": dict(self.components),
                "toggle_pj_by_unit": dict(self.by_unit), "details": self.details}


def compute_energy(activity: Activity, table: EnergyTable) -> EnergyBreakdown:
    """Energy of ``activity`` under ``table`` (see the module docstring for the formula)."""
    if activity.cycles < 0 or activity.clock_hz <= 0:
        raise ValueError("cycles must be >= 0 and clock_hz > 0")
    f = table.figure
    comps = {name: 0.0 for name in COMPONENT_ORDER}
    details = {"seconds": activity.seconds, "cycles": activity.cycles, "clock_hz": activity.clock_hz,
               "fp": {}, "sram": [], "dram": {}}

    reference = f("fp_reference_operand_toggles")
    for ops in activity.fp_ops:
        key = {"fp32_mul": "fp_mul", "fp32_add": "fp_add"}.get(ops.op)
        if key is None:
            raise ValueError(f"unknown FP operation {ops.op!r}; the tables give fp32_mul and fp32_add")
        mean = ops.mean_operand_toggles(reference)
        per_op = f(f"{ops.op}_pj") * mean / reference
        comps[key] += ops.count * per_op
        slot = details["fp"].setdefault(ops.op, {"count": 0, "operand_toggles": 0.0, "energy_pj": 0.0})
        slot["count"] += ops.count
        slot["operand_toggles"] += mean * ops.count
        slot["energy_pj"] += ops.count * per_op
    for op, slot in details["fp"].items():
        slot["mean_operand_toggles"] = slot["operand_toggles"] / slot["count"] if slot["count"] else 0.0
        slot["pj_per_op"] = slot["energy_pj"] / slot["count"] if slot["count"] else 0.0
        slot["table_pj_per_op"] = f(f"{op}_pj")

    by_unit = {}
    reg_fj, wire_fj = f("register_toggle_fj"), f("wire_toggle_fj")
    for unit, kinds in activity.toggles.items():
        if unit in activity.uncharged:
            by_unit[unit] = 0.0
            continue
        e_reg = kinds.get("reg", 0) * reg_fj * 1e-3
        e_wire = kinds.get("wire", 0) * wire_fj * 1e-3
        comps["register_toggles"] += e_reg
        comps["wire_toggles"] += e_wire
        by_unit[unit] = e_reg + e_wire

    inv = activity.inventory
    comps["clock"] = inv.flop_bits * activity.cycles * f("flop_clock_fj") * 1e-3

    for mem in activity.sram:
        e_r = mem.reads * table.sram_access_pj(mem.size_bytes, mem.width_bits, "read")
        e_w = mem.writes * table.sram_access_pj(mem.size_bytes, mem.width_bits, "write")
        comps["sram"] += e_r + e_w
        details["sram"].append({"name": mem.name, "size_bytes": mem.size_bytes, "width_bits": mem.width_bits,
                                "reads": mem.reads, "writes": mem.writes, "energy_pj": e_r + e_w})

    dram = table.dram
    seconds = activity.seconds
    if activity.dram is not None:
        d = activity.dram
        acts = d.estimated_activations(dram.figure("row_bytes"))
        comps["dram_read_write"] = (d.bytes_read * 8 * dram.figure("read_pj_per_bit")
                                    + d.bytes_written * 8 * dram.figure("write_pj_per_bit"))
        comps["dram_activate"] = acts * dram.figure("activate_precharge_nj") * 1e3
        comps["dram_background"] = (dram.figure("background_w_per_rank") * dram.figure("ranks") * d.channels
                                    * seconds * 1e12)
        details["dram"] = {"table": dram.name, "channels": d.channels,
                           "bytes_read": d.bytes_read, "bytes_written": d.bytes_written,
                           "activations": acts, "activations_estimated": d.activations is None,
                           "bursts": d.bursts}

    leaky_flops = inv.flop_bits if inv.leaky_flop_bits is None else inv.leaky_flop_bits
    leak_uw = (inv.fp32_mul_units * f("leakage_fp32_mul_uw") + inv.fp32_add_units * f("leakage_fp32_add_uw")
               + leaky_flops * f("leakage_flop_uw") + inv.sram_bytes / 1024 * f("leakage_sram_uw_per_kib"))
    comps["leakage"] = leak_uw * 1e-6 * seconds * 1e12
    details["leakage_uw"] = leak_uw
    return EnergyBreakdown(table.name, comps, by_unit, details, sum(comps.values()))
