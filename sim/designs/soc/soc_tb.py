"""Verilog testbench that puts the generated SoC on the DRAM model.

``soc_tb`` = ``pp_soc`` + one ``axi_mem_model`` per memory port.  The CSR
port and the interrupts are left to cocotb; memories load and dump their
images in bulk (+MEM_INIT<j> / +MEM_DUMP<j>).  An ``axi_checker`` watches
each memory port; its count of protocol violations is the output
``mem<j>_axi_violations`` (the testbenches require 0).

``soc_axi_tb`` wraps ``pp_soc`` alone (the same ports, for cocotbext-axi's
memory models) with the same checkers.
"""

import os
import threading
from dataclasses import dataclass

from hw.soc import SoCParams
from sim.core.runner import BUILD_ROOT, _hash
from sim.designs.mem.mem_model import CHECKER_SOURCE, MODEL_SOURCE
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


AXI = ["awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb", "wlast",
       "wvalid", "wready", "bid", "bresp", "bvalid", "bready", "arid", "araddr", "arlen", "arsize",
       "arburst", "arvalid", "arready", "rid", "rdata", "rresp", "rlast", "rvalid", "rready"]
# driven by the slave (the memory); the rest by the SoC's master port
AXI_SLAVE_DRIVEN = {"awready", "wready", "bid", "bresp", "bvalid", "arready", "rid", "rdata", "rresp", "rlast",
                    "rvalid"}
AXIL = [("awaddr", 16, "in"), ("awvalid", 1, "in"), ("awready", 1, "out"), ("wdata", 32, "in"),
        ("wstrb", 4, "in"), ("wvalid", 1, "in"), ("wready", 1, "out"), ("bresp", 2, "out"),
        ("bvalid", 1, "out"), ("bready", 1, "in"), ("araddr", 16, "in"), ("arvalid", 1, "in"),
        ("arready", 1, "out"), ("rdata", 32, "out"), ("rresp", 2, "out"), ("rvalid", 1, "out"),
        ("rready", 1, "in")]


def _axi_widths(params: SoCParams) -> dict:
    W, IDW = params.bus_width, params.interconnect.port_id_width
    return {"awid": IDW, "arid": IDW, "bid": IDW, "rid": IDW, "awaddr": 32, "araddr": 32, "awlen": 8,
            "arlen": 8, "awsize": 3, "arsize": 3, "awburst": 2, "arburst": 2, "wdata": W, "rdata": W,
            "wstrb": W // 8, "bresp": 2, "rresp": 2}


def _vec(width: int) -> str:
    return f"[{width - 1}:0] " if width > 1 else ""


def _checkers(params: SoCParams) -> list:
    """One axi_checker per memory port; the limits are the interconnect's (each master, an
    accelerator's read channel, may have max_outstanding reads and writes in flight)."""
    ic = params.interconnect
    limit = ic.masters * ic.max_outstanding
    lines = []
    for j, prefix in enumerate(params.mem_prefixes()):
        conns = [".clk(clk)", ".rst(rst)"] + [f".{n}({prefix}_{n})" for n in AXI]
        conns.append(f".violations(mem{j}_axi_violations)")
        lines.append(
            f"    axi_checker #(.ADDR_W(32), .DATA_W({params.bus_width}), .ID_W({ic.port_id_width}), "
            f'.MAX_READS({limit}), .MAX_WRITES({limit}), .NAME("{prefix}")) check{j} (\n        '
            + ",\n        ".join(conns) + "\n    );")
    return lines


def testbench_text(params: SoCParams, mem: MemoryParams) -> str:
    ic = params.interconnect
    W, IDW, N = params.bus_width, ic.port_id_width, params.accelerators
    axi, axil = AXI, AXIL
    lines = ["`timescale 1ns/1ps", "module soc_tb (", "    input wire rst,",
             "    input wire load,", "    input wire dump,", "    input wire [31:0] dump_words,",
             f"    output wire [{N - 1}:0] irq,"]
    for name, width, direction in axil:
        rng = f"[{width - 1}:0] " if width > 1 else ""
        lines.append(f"    {'input' if direction == 'in' else 'output'} wire {rng}s_axil_{name},")
    for j in range(params.mem_ports):
        for s in STATS:
            lines.append(f"    output wire [63:0] mem{j}_{s},")
        lines.append(f"    output wire [31:0] mem{j}_axi_violations,")
    lines[-1] = lines[-1].rstrip(",")
    lines.append(");")
    # The 200 MHz clock runs inside the simulator (Verilator --timing): cocotb
    # is woken only by the interrupt lines, not on every edge.
    lines += ["    reg clk = 1'b0;", "    always #2.5 clk = ~clk;"]
    prefixes = params.mem_prefixes()
    widths = _axi_widths(params)
    for prefix in prefixes:
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
    lines += _checkers(params)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def axi_wrapper_text(params: SoCParams) -> str:
    """``soc_axi_tb``: pp_soc with its own ports (clock from outside) plus the checkers."""
    widths = _axi_widths(params)
    ports = ["    input wire clk", "    input wire rst", f"    output wire {_vec(params.accelerators)}irq"]
    ports += [f"    {'input' if d == 'in' else 'output'} wire {_vec(w)}s_axil_{n}" for n, w, d in AXIL]
    for j, prefix in enumerate(params.mem_prefixes()):
        ports += [f"    {'input' if n in AXI_SLAVE_DRIVEN else 'output'} wire {_vec(widths.get(n, 1))}{prefix}_{n}"
                  for n in AXI]
        ports.append(f"    output wire [31:0] mem{j}_axi_violations")
    conns = [".clk(clk)", ".rst(rst)", ".irq(irq)"] + [f".s_axil_{n}(s_axil_{n})" for n, _, _ in AXIL]
    conns += [f".{p}_{n}({p}_{n})" for p in params.mem_prefixes() for n in AXI]
    lines = ["`timescale 1ns/1ps", "module soc_axi_tb (", ",\n".join(ports), ");",
             f"    {MODULE} dut (\n        " + ",\n        ".join(conns) + "\n    );",
             *_checkers(params), "endmodule"]
    return "\n".join(lines) + "\n"


def _generated(name: str, text: str):
    path = BUILD_ROOT / "verilog" / f"{name}-{_hash(text)}" / f"{name}.sv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)         # content-named and written whole, so concurrent runs agree
    return path


def axi_wrapper_build(params: SoCParams, simulator: str):
    """pp_soc inside soc_axi_tb, for the cocotbext-axi conformance testbench."""
    return soc_build(params, simulator, toplevel="soc_axi_tb",
                     extra_sources=(CHECKER_SOURCE, _generated("soc_axi_tb", axi_wrapper_text(params))))


def tb_build(params: SoCParams, mem: MemoryParams, simulator: str):
    path = _generated("soc_tb", testbench_text(params, mem))
    return soc_build(params, simulator, toplevel="soc_tb",
                     extra_sources=(MODEL_SOURCE, CHECKER_SOURCE, path),
                     build_args=("--timing",) if simulator == "verilator" else ())
