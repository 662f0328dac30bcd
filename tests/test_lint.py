"""Generated blocks are lint-clean under `verilator --lint-only -Wall` with the documented waivers."""

import pytest

from sim.lint import lint_block, lint_verilog


@pytest.mark.parametrize("rows,cols", [(1, 1), (2, 3), (5, 2)])
@pytest.mark.parametrize("block", ["pe", "array", "accelerator"])
def test_blocks_lint_clean(block, rows, cols):
    assert lint_block(block, rows, cols) == []


def test_lint_catches_a_real_problem():
    """Guard: a genuinely broken module is reported despite the waivers."""
    broken = "module bad(input wire a, output wire y); assign y = b; endmodule\n"
    assert lint_verilog(broken, "bad")
