"""FP=behavioural: a fast simulation build whose PEs compute with a C model.

The SoC's PE (hw/pe.py) is one Verilog module, converted once and placed by
instance (hw/netlist.py), so a simulation build can swap it for a
behavioural module with the same ports and the same cycle behaviour: the
shadow and active weights, the activation register and tags, and a
multiplier and an adder pipeline of the array's latencies whose data
registers load only on valid cycles.  The arithmetic is two DPI-C calls
(sim/designs/fp/tb/fp32_dpi.cpp), bit-exact with hw/fp32 by construction: RNE,
subnormals kept, no FMA contraction, NaN as 0x7FC00000.  Verilator only;
tests/test_fp_behavioural.py checks the C model against SoftFloat on the soak
vectors and a SoC phase against the RTL PEs, outputs and cycles identical.

The default build keeps the RTL FP units; reports say which one ran.
"""

import hashlib
from dataclasses import replace
from pathlib import Path

from hw.config import ArrayParams

C_MODEL = Path(__file__).resolve().parent / "tb" / "fp32_dpi.cpp"
FP_CHOICES = ("rtl", "behavioural")


def _pipeline(prefix: str, latency: int, valid_in: str, value_in: str) -> tuple[list, list, str, str]:
    """Declarations and clocked statements of a latency-stage (valid, data) pipeline
    whose data registers load only when the stage before is valid, like hw/fp32/pipeline.py."""
    decls, stmts = [], []
    valid, data = valid_in, value_in
    for s in range(latency):
        decls += [f"  reg {prefix}_v{s} = 1'b0;", f"  reg [31:0] {prefix}_d{s} = 32'd0;"]
        stmts += [f"    {prefix}_v{s} <= {valid};", f"    if ({valid}) {prefix}_d{s} <= {data};"]
        valid, data = f"{prefix}_v{s}", f"{prefix}_d{s}"
    return decls, stmts, valid, data


def pe_text(array: ArrayParams, name: str) -> str:
    """A behavioural PE module ``name`` with hw/pe.py's ports and timing."""
    if array.ftz:
        raise ValueError("FP=behavioural models IEEE gradual underflow; it does not support ftz")
    mul_decls, mul_stmts, mul_valid, mul_result = _pipeline(
        "mul", array.mul_latency, "a_valid_in", "pp_fp32_mul(a_first_in ? shadow : active, a_in)")
    add_decls, add_stmts, _, add_result = _pipeline(
        "add", array.add_latency, mul_valid, f"pp_fp32_add(psum_in, {mul_result})")
    resets = ["shadow", "active", "a_out", "a_valid_out", "a_first_out",
              *(f"mul_v{s}" for s in range(array.mul_latency)), *(f"add_v{s}" for s in range(array.add_latency))]
    return "\n".join([
        "// Behavioural PE (FP=behavioural simulation builds only; see sim/designs/fp/fp_behavioural.py).",
        f"module {name}(clk, rst, a_in, a_valid_in, a_first_in, a_out, a_valid_out, a_first_out,",
        "  psum_in, psum_out, w_we, w_in);",
        "  import \"DPI-C\" pure function int unsigned pp_fp32_mul(input int unsigned a, input int unsigned b);",
        "  import \"DPI-C\" pure function int unsigned pp_fp32_add(input int unsigned a, input int unsigned b);",
        "  input clk, rst, a_valid_in, a_first_in, w_we;",
        "  input [31:0] a_in, psum_in, w_in;",
        "  output reg [31:0] a_out = 32'd0;",
        "  output reg a_valid_out = 1'b0, a_first_out = 1'b0;",
        "  output [31:0] psum_out;",
        "  reg [31:0] shadow = 32'd0, active = 32'd0;",
        *mul_decls, *add_decls,
        f"  assign psum_out = {add_result};",
        "  always @(posedge clk) begin",
        "    if (w_we) shadow <= w_in;",
        "    if (a_valid_in & a_first_in) active <= shadow;",
        "    if (a_valid_in) a_out <= a_in;",
        "    a_valid_out <= a_valid_in;",
        "    a_first_out <= a_first_in & a_valid_in;",
        *mul_stmts, *add_stmts,
        "    if (rst) begin",
        *(f"      {r} <= 0;" for r in resets),
        "    end",
        "  end",
        "endmodule",
        "",
    ])


def behavioural_spec(spec, soc_params):
    """``spec`` (a SoC testbench build) with the behavioural PE in place of the RTL one."""
    from sim.designs.soc.soc import soc_source
    if spec.simulator != "verilator":
        raise ValueError("FP=behavioural needs SIM=verilator (the C model is linked through DPI-C)")
    sources = (str(soc_source(soc_params, fp="behavioural")), *spec.sources[1:])
    model_hash = hashlib.sha256(C_MODEL.read_bytes()).hexdigest()[:16]   # in the build's cache key
    return replace(spec, sources=sources, hier_blocks=(),
                   build_args=(*spec.build_args, str(C_MODEL), "-CFLAGS", "-ffp-contract=off",
                               "-CFLAGS", f"-DPP_FP32_DPI={model_hash}"))
