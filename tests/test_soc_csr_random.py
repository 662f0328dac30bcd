"""Random AXI-Lite programming, including writes while layers run, never hangs the
SoC or corrupts another accelerator's run (sim/designs/soc/tb_csr_random.py checks
every response, every read-back, the victims' outputs and the bytes outside the
target's window)."""

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.designs.soc.soc import run_csr_random

# the same SoC as a test_soc_axi case, so the build is shared
PARAMS = SoCParams(accelerators=3, array=ArrayParams(2, 2), bus_width=64, mem_ports=2,
                   input_words=64, acc_words=64, bias_words=8)


@pytest.mark.parametrize("backpressure", [0.0, 0.3])
def test_random_csr_programming_while_layers_run(backpressure, rng, tmp_path):
    def layer(M, K, N, bias, relu):
        return (rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32),
                rng.standard_normal(M).astype(np.float32) if bias else None, relu)
    layers = [layer(7, 7, 6, True, True), layer(6, 7, 5, False, False), layer(5, 3, 4, True, False)]
    seed = int(rng.integers(1 << 30))
    print(f"storm seed {seed}")
    result = run_csr_random(PARAMS, layers, backpressure=backpressure, seed=seed, run_dir=tmp_path)
    # the bench asserts every check; the summary must agree with it
    assert result["victim_completions"] == [1, 1]
    assert all(layer["bit_exact"] and layer["status"] == 0b10 for layer in result["layers"])
    assert [layer["accelerator"] for layer in result["layers"]] == [0, 1, 2]
    assert result["stray_bytes"] == 0 and result["axi_violations"] == [0, 0]
    assert result["storm_ops"] > 100 and result["target_starts"] > 5, result
    runs = result["target_runs"]         # random descriptors were both run and refused
    assert runs["done"] >= 1 and runs["error"] >= 1, runs
