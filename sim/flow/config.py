"""The settings of one ``make sim`` / ``make sweep`` run, validated once.

`FlowConfig` is built from the command line (`FlowConfig.from_args`) and
checked in full before anything is trained, built or written, so bad input
ends in one ``error:`` line and exit 2 at once.  Library code receives the
config, never the argparse namespace.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from hw.interconnect import PORT_COUNTS

MAX_ACCELERATORS = 16
MAX_BATCH = 4096


class FlowError(ValueError):
    """Bad flow input; reported as one line."""


@dataclass(frozen=True)
class FlowConfig:
    partitions: int = 3
    rows: int = 32
    cols: int = 32
    model: str = "lenet300"
    data: str = "mnist"
    batch: int = 16
    sim: str = "verilator"
    mem_ports: int = 1
    seed: int = 0
    power: str = "events"
    scale: str = "default"
    fc_dims: tuple | None = None          # SCALE=paper: the FC chain's widths
    out: Path | None = None               # the report folder (default under build/sim)
    sweep: bool = False
    max_partitions: int = 5
    ports: tuple = (1, 2)                 # a sweep's memory variants
    executor: str = "auto"
    workers: int | None = None
    jobs: int | None = None               # phases of one chain simulated at once (None: half the cores)
    fp: str = "rtl"                       # behavioural: PEs as a C model (sim/designs/fp/fp_behavioural.py)
    engine: str = "rtl"                   # a sweep's cycles: rtl (simulated) or model (sim/golden/soc_perf.py)

    def __post_init__(self):
        _in_range("PARTITIONS", self.partitions, 1, MAX_ACCELERATORS, "(one accelerator each)")
        _in_range("BATCH", self.batch, 1, MAX_BATCH)
        for name in ("rows", "cols"):
            _in_range(name.upper(), getattr(self, name), 1, 256)
        _choice("SIM", self.sim, ("verilator", "icarus"))
        _choice("POWER", self.power, ("events", "toggles"))
        _choice("SCALE", self.scale, ("default", "paper"))
        _choice("FP", self.fp, ("rtl", "behavioural"))
        if self.fp == "behavioural" and (self.sim != "verilator" or self.power == "toggles"):
            raise FlowError("FP=behavioural needs SIM=verilator and POWER=events (its PEs have no gates to toggle)")
        _choice("--executor", self.executor, ("auto", "local", "ray"))
        from sim.core.runner import default_threads
        try:
            default_threads()
        except ValueError as exc:
            raise FlowError(str(exc)) from None
        _choice("ENGINE", self.engine, ("rtl", "model"))
        for ports in (self.mem_ports, *(self.ports if self.sweep else ())):
            _choice("MEM_PORTS", ports, PORT_COUNTS)
        if self.sweep:
            _in_range("--max-partitions", self.max_partitions, 1, MAX_ACCELERATORS)
        self._check_soc()
        if self.workers is not None:
            _in_range("--workers", self.workers, 1, 1024)
        if self.jobs is not None:
            _in_range("JOBS", self.jobs, 1, 256)
        if self.fc_dims is not None:
            if self.scale != "paper":
                raise FlowError("--fc-dims goes with SCALE=paper")
            if len(self.fc_dims) < 2 or min(self.fc_dims) < 1:
                raise FlowError(f"--fc-dims needs two or more positive widths, got {self.fc_dims}")
        if self.scale == "paper":
            return
        data = Path(self.data)
        if self.data not in ("mnist", "digits", "tinyimagenet") and not (data.is_file() or data.is_dir()):
            raise FlowError(f"DATA={self.data} is neither mnist, digits, tinyimagenet, an .npz file nor a folder")
        target = self.model.rsplit(":", 1)[0]
        if ":" in self.model and target.endswith(".py") and not Path(target).is_file():
            raise FlowError(f"model file not found: {target}")

    def _check_soc(self):
        """The largest SoC this run builds must be one the generator accepts (masters, word sizes)."""
        from hw.config import ArrayParams
        from hw.soc import SoCParams
        accelerators = self.max_partitions if self.sweep else self.partitions
        for ports in (self.mem_ports, *(self.ports if self.sweep else ())):
            try:
                SoCParams(accelerators=accelerators, array=ArrayParams(self.rows, self.cols), mem_ports=ports)
            except ValueError as exc:
                raise FlowError(f"{accelerators} accelerators, {self.rows}x{self.cols}, MEM_PORTS={ports}: {exc}") \
                    from None

    @property
    def phase_jobs(self) -> int:
        return self.jobs if self.jobs is not None else max(1, (os.cpu_count() or 2) // 2)

    @property
    def phase_executor(self) -> str:
        """Where one run's phases simulate: Ray tasks when ``--executor ray`` (or RAY_ADDRESS
        is set and the executor is auto), else here.  A sweep's points already are tasks,
        so their phases run where the point runs."""
        if self.sweep:
            return "local"
        ray = self.executor == "ray" or (self.executor == "auto" and bool(os.environ.get("RAY_ADDRESS")))
        return "ray" if ray else "local"

    @property
    def accelerators(self) -> int:
        return self.max_partitions if self.sweep else self.partitions

    def with_point(self, partitions: int, mem_ports: int) -> "FlowConfig":
        """One sweep point; its phases run one at a time unless JOBS says otherwise (the
        points themselves already fill the workers)."""
        return dataclasses.replace(self, partitions=partitions, mem_ports=mem_ports, jobs=self.jobs or 1)

    @classmethod
    def from_args(cls, args) -> "FlowConfig":
        """From an argparse namespace with the same names (extra names are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in vars(args).items() if k in names})


def _in_range(name, value, lo, hi, why=""):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FlowError(f"{name} must be an integer from {lo} to {hi}{' ' + why if why else ''}, got {value!r}")


def _choice(name, value, allowed):
    if value not in allowed:
        raise FlowError(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")
