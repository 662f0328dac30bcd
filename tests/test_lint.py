"""Generated blocks are lint-clean under `verilator --lint-only -Wall` with the documented waivers."""

import pytest

from sim.core.lint import lint_block, lint_verilog


@pytest.mark.parametrize("rows,cols", [(1, 1), (2, 3), (5, 2)])
@pytest.mark.parametrize("block", ["pe", "array", "accelerator"])
def test_blocks_lint_clean(block, rows, cols):
    assert lint_block(block, rows, cols) == []


def test_lint_catches_a_real_problem():
    """Guard: a genuinely broken module is reported despite the waivers."""
    broken = "module bad(input wire a, output wire y); assign y = b; endmodule\n"
    assert lint_verilog(broken, "bad")


@pytest.mark.parametrize("y,z,rule", [
    ("a", "a[3:0]", "WIDTHEXPAND"),            # 8 bits into 16 without an explicit extension
    ("{8'b0, a}", "a", "WIDTHTRUNC"),          # 8 bits into 4
    ("{8'b0, a}", "{2'b0, a[0]}", "WIDTHEXPAND"),
])
def test_width_waivers_cover_only_the_backend_idioms(y, z, rule):
    """Guard: the width waivers are narrowed to logical NOT and arithmetic/comparison
    operands; a width mismatch in an assignment is still reported."""
    text = (f"module bad(input wire [7:0] a, output wire [15:0] y, output wire [3:0] z);\n"
            f"  assign y = {y};\n  assign z = {z};\nendmodule\n")
    problems = lint_verilog(text, "bad")
    assert any(f"%Warning-{rule}" in p for p in problems), problems
