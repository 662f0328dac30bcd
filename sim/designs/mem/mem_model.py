"""The simulation DRAM: parameters of ``axi_mem_model`` and a runner for its testbench.

``sim/designs/mem/tb/axi_mem_model.sv`` is an AXI4 slave with configurable latency,
bandwidth, outstanding bursts and an open-row counter, loaded and dumped in
bulk with $readmemh/$writememh (file names from plusargs).  This module holds
its parameters as one validated, frozen dataclass (defaults follow the paper:
DDR3-1600 x64 at a 200 MHz accelerator clock, see the .sv header for the
arithmetic), the simulator build of the model on its own, and
:func:`run_bench`, which runs one test of the cocotb testbench
:mod:`sim.designs.mem.tb_axi_mem` and returns its JSON report.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.core import runner
from sim.core.constants import DRAM_BYTES_PER_CYCLE

TB_DIR = Path(__file__).resolve().parent / "tb"
MODEL_SOURCE = TB_DIR / "axi_mem_model.sv"
CHECKER_SOURCE = TB_DIR / "axi_checker.sv"   # the AXI protocol checker on every SoC memory port


def _pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@dataclass(frozen=True)
class MemModelParams:
    """Parameters of ``axi_mem_model`` (names as in the Verilog, lower case)."""

    addr_w: int = 32
    data_w: int = DRAM_BYTES_PER_CYCLE * 8   # 512: DDR3-1600 x64 peak at 200 MHz, one beat a cycle
    id_w: int = 8
    mem_words: int = 1 << 16         # depth in data_w-bit words (4 MiB at 512 bit)
    read_latency: int = 20           # 100 ns at 200 MHz (an assumption, see the .sv)
    write_latency: int = 10          # last W beat -> B
    max_outstanding: int = 8         # read bursts
    max_outstanding_writes: int = 8  # write bursts (AW accepted, B not yet taken)
    beat_interval: int = 1           # one beat per cycle at most = 12.8 GB/s at 512 bit, 200 MHz
    shared_data_bus: bool = True     # reads and writes share the beat budget (half-duplex DRAM bus)
    row_bytes: int = 8192            # DDR3-1600-8x8: 8 devices x 1 KiB page per rank
    banks: int = 8
    init_plusarg: str = "MEM_INIT"
    dump_plusarg: str = "MEM_DUMP"

    def __post_init__(self):
        checks = [
            (_pow2(self.data_w) and 32 <= self.data_w <= 512, "data_w must be a power of two in 32..512"),
            (self.read_latency >= 2, "read_latency must be >= 2"),
            (self.write_latency >= 1, "write_latency must be >= 1"),
            (self.max_outstanding >= 1 and self.max_outstanding_writes >= 1, "outstanding limits must be >= 1"),
            (1 <= self.beat_interval < 1 << 16, "beat_interval must be in 1..65535"),
            (self.mem_words >= 1 and self.mem_words * self.bytes_per_beat <= 1 << self.addr_w,
             "mem_words must be >= 1 and fit the address space"),
            (self.addr_w <= 64, "addr_w must be at most 64"),
            (self.id_w >= 1, "id_w must be >= 1"),
            (_pow2(self.row_bytes) and self.row_bytes >= self.bytes_per_beat, "row_bytes must be a power of two >= one beat"),
            (_pow2(self.banks), "banks must be a power of two"),
            (self.init_plusarg.isidentifier() and self.dump_plusarg.isidentifier(), "plusarg names must be identifiers"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"MemModelParams: {message} ({self})")

    @property
    def bytes_per_beat(self) -> int:
        return self.data_w // 8

    @property
    def mem_bytes(self) -> int:
        return self.mem_words * self.bytes_per_beat

    def verilog_parameters(self) -> tuple:
        """(name, value) pairs for SimBuild.parameters / an instance's #(...)."""
        return (
            ("ADDR_W", self.addr_w), ("DATA_W", self.data_w), ("ID_W", self.id_w),
            ("MEM_WORDS", self.mem_words), ("READ_LATENCY", self.read_latency),
            ("WRITE_LATENCY", self.write_latency), ("MAX_OUTSTANDING", self.max_outstanding),
            ("MAX_OUTSTANDING_WRITES", self.max_outstanding_writes),
            ("BEAT_INTERVAL", self.beat_interval), ("SHARED_DATA_BUS", int(self.shared_data_bus)),
            ("ROW_BYTES", self.row_bytes), ("BANKS", self.banks),
            ("INIT_PLUSARG", f'"{self.init_plusarg}"'), ("DUMP_PLUSARG", f'"{self.dump_plusarg}"'),
        )


def sim_build(params: MemModelParams, simulator: str, waves: bool = False) -> runner.SimBuild:
    """The model alone as the simulator top level (cocotbext-axi binds ``s_axi_*``)."""
    return runner.SimBuild(
        toplevel="axi_mem_model",
        sources=(str(MODEL_SOURCE),),
        simulator=simulator,
        parameters=params.verilog_parameters(),
        waves=waves,
        warnings_fatal=True,
    )


def run_bench(params: MemModelParams, testcase: str, *, simulator: str, run_dir: Path,
              seed: int = 0, options: dict | None = None, waves: bool = False,
              wall_timeout_s: float = 300) -> dict:
    """Run one cocotb test of :mod:`sim.designs.mem.tb_axi_mem`; return its report.

    Raises :class:`sim.core.runner.SimulationError` when the test fails or hangs.
    """
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    init_file, dump_file = run_dir / "mem_init.hex", run_dir / "mem_dump.hex"
    report = run_dir / "report.json"
    report.unlink(missing_ok=True)
    config = {"params": asdict(params), "seed": int(seed), "options": options or {},
              "init_file": str(init_file), "dump_file": str(dump_file), "report": str(report)}
    config_file = run_dir / "config.json"
    config_file.write_text(json.dumps(config, indent=1))
    runner.run_test(sim_build(params, simulator, waves), "sim.designs.mem.tb_axi_mem", run_dir=run_dir,
                    plusargs=[f"+{params.init_plusarg}={init_file}", f"+{params.dump_plusarg}={dump_file}"],
                    extra_env={"AXI_MEM_CONFIG": str(config_file)}, testcase=testcase,
                    wall_timeout_s=wall_timeout_s)
    return json.loads(report.read_text())
