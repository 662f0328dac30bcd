"""Verilog testbench that puts the generated SoC on the DRAM model.

``soc_tb`` = ``pp_soc`` + one ``axi_mem_model`` per memory port.  The CSR
port and the interrupts are left to cocotb; memories load and dump their
images in bulk (+MEM_INIT<j> / +MEM_DUMP<j>).
"""

import os
import threading
from dataclasses import dataclass

from hw.soc import SoCParams
from .runner import BUILD_ROOT, TB_DIR, _hash
from .soc import MODULE, soc_build

STATS = ("read_beats", "write_beats", "read_bursts", "write_bursts", "row_activations", "busy_cycles")


@dataclass(frozen=True)
class MemoryParams:
    """DRAM model settings (defaults: DDR3-1600 x64 at a 200 MHz accelerator clock, see axi_mem_model.sv)."""

    words: int = 1 << 18              # per port, DATA_W-bit words (16 MiB at 512 bits)
    read_latency: int = 20
    write_latency: int = 10
    beat_interval: int = 1
    max_outstanding: int = 8


def testbench_text(params: SoCParams, mem: MemoryParams) -> str:
    ic = params.interconnect
    W, IDW, N = params.bus_width, ic.port_id_width, params.accelerators
    axi = ["awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb", "wlast",
           "wvalid", "wready", "bid", "bresp", "bvalid", "bready", "arid", "araddr", "arlen", "arsize",
           "arburst", "arvalid", "arready", "rid", "rdata", "rresp", "rlast", "rvalid", "rready"]
    axil = [("awaddr", 16, "in"), ("awvalid", 1, "in"), ("awready", 1, "out"), ("wdata", 32, "in"),
            ("wstrb", 4, "in"), ("wvalid", 1, "in"), ("wready", 1, "out"), ("bresp", 2, "out"),
            ("bvalid", 1, "out"), ("bready", 1, "in"), ("araddr", 16, "in"), ("arvalid", 1, "in"),
            ("arready", 1, "out"), ("rdata", 32, "out"), ("rresp", 2, "out"), ("rvalid", 1, "out"),
            ("rready", 1, "in")]
    lines = ["`timescale 1ns/1ps", "module soc_tb (", "    input wire rst,",
             "    input wire load,", "    input wire dump,", "    input wire [31:0] dump_words,",
             f"    output wire [{N - 1}:0] irq,"]
    for name, width, direction in axil:
        rng = f"[{width - 1}:0] " if width > 1 else ""
        lines.append(f"    {'input' if direction == 'in' else 'output'} wire {rng}s_axil_{name},")
    for j in range(params.mem_ports):
        for s in STATS:
            lines.append(f"    output wire [63:0] mem{j}_{s},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append(");")
    # The 200 MHz clock runs inside the simulator (Verilator --timing): cocotb
    # is woken only by the interrupt lines, not on every edge.
    lines += ["    reg clk = 1'b0;", "    always #2.5 clk = ~clk;"]
    prefixes = params.mem_prefixes()
    for prefix in prefixes:
        widths = {"awid": IDW, "arid": IDW, "bid": IDW, "rid": IDW, "awaddr": 32, "araddr": 32, "awlen": 8,
                  "arlen": 8, "awsize": 3, "arsize": 3, "awburst": 2, "arburst": 2, "wdata": W, "rdata": W,
                  "wstrb": W // 8, "bresp": 2, "rresp": 2}
        for name in axi:
            width = widths.get(name, 1)
            lines.append(f"    wire {f'[{width - 1}:0] ' if width > 1 else ''}{prefix}_{name};")
    conns = [".clk(clk)", ".rst(rst)", ".irq(irq)"] + [f".s_axil_{n}(s_axil_{n})" for n, _, _ in axil]
    conns += [f".{p}_{n}({p}_{n})" for p in prefixes for n in axi]
    lines.append(f"    {MODULE} dut (\n        " + ",\n        ".join(conns) + "\n    );")
    for j, prefix in enumerate(prefixes):
        mconns = [".clk(clk)", ".rst(rst)", ".load(load)", ".dump(dump)", ".dump_words(dump_words)"]
        mconns += [f".s_axi_{n}({prefix}_{n})" for n in axi]
        mconns += [f".stat_{s}(mem{j}_{s})" for s in STATS]
        lines.append(
            f"    axi_mem_model #(.ADDR_W(32), .DATA_W({W}), .ID_W({IDW}), .MEM_WORDS({mem.words}), "
            f".READ_LATENCY({mem.read_latency}), .WRITE_LATENCY({mem.write_latency}), "
            f".MAX_OUTSTANDING({mem.max_outstanding}), .BEAT_INTERVAL({mem.beat_interval}), "
            f'.INIT_PLUSARG("MEM_INIT{j}"), .DUMP_PLUSARG("MEM_DUMP{j}")) mem{j} (\n        '
            + ",\n        ".join(mconns) + "\n    );")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def tb_build(params: SoCParams, mem: MemoryParams, simulator: str):
    text = testbench_text(params, mem)
    path = BUILD_ROOT / "verilog" / f"soc_tb-{_hash(text)}" / "soc_tb.sv"
    if not path.exists():                  # content-named; written whole, so concurrent runs agree
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return soc_build(params, simulator, toplevel="soc_tb",
                     extra_sources=(TB_DIR / "axi_mem_model.sv", path),
                     build_args=("--timing",) if simulator == "verilator" else ())
