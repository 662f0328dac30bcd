"""Run fully connected layers on one generated accelerator (cocotb + Verilator/Icarus).

    layers = [Layer(W, X, bias, relu), ...]
    results = run_layers(AcceleratorParams(...), layers, simulator="verilator")

Every layer's images are written in bulk, the whole list runs in one
simulator process (one build, cached), and each result carries the hardware
output, the golden model's verdict and the cycle counters.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw.config import AcceleratorParams
from hw.netlist import accelerator_verilog
from sim.core import runner
from sim.core.hexfile import write_words
from sim.golden import gemm as golden
from sim.golden import perf
from .accel_layout import bias_image, input_image, weight_image, words_needed

MODULE = "pp_accel"
TB_SOURCE = Path(__file__).resolve().parent / "tb" / "accel_tb.sv"   # the testbench cocotb and the raw harness drive


@dataclass
class Layer:
    W: np.ndarray                  # M x K float32
    X: np.ndarray                  # K x N float32
    bias: np.ndarray | None = None
    relu: bool = False
    name: str = "layer"
    # Descriptor override, to exercise the hardware's own validation.
    descriptor: tuple | None = None


def accelerator_source(params: AcceleratorParams) -> Path:
    key = {"block": "accelerator", **params.as_dict()}
    return runner.generate_verilog(None, MODULE, key, text_factory=lambda: accelerator_verilog(params, MODULE))


def sim_build(params: AcceleratorParams, simulator: str, waves: bool = False) -> runner.SimBuild:
    return runner.SimBuild(
        toplevel="accel_tb",
        sources=(str(accelerator_source(params)), str(TB_SOURCE)),
        simulator=simulator,
        defines=(("PP_INTERNAL_CLOCK", 1),),
        build_args=("--timing",) if simulator == "verilator" else (),
        parameters=(("ROWS", params.rows), ("COLS", params.cols), ("WDEPTH", params.weight_words),
                    ("XDEPTH", params.input_words), ("BDEPTH", params.bias_words),
                    ("ADEPTH", params.acc_words)),
        waves=waves,
        hier_blocks=(f"{MODULE}_pe_row",) if simulator == "verilator" else (),
        warnings_fatal=True,
    )


def params_for(layers, array, *, round_pow2=True) -> AcceleratorParams:
    """Scratchpads just large enough for every layer (rounded up to powers of two)."""
    return params_for_shapes([(*layer.W.shape, layer.X.shape[1]) for layer in layers], array, round_pow2=round_pow2)


def params_for_shapes(shapes, array, *, round_pow2=True) -> AcceleratorParams:
    """:func:`params_for` from (M, K, N) shapes alone: sizes can be checked (ValueError)
    before any matrix is allocated."""
    need = {"weight_words": 1, "input_words": 1, "acc_words": 1, "bias_words": 1}
    for M, K, N in shapes:
        for key, words in words_needed(M, K, N, array.rows, array.cols).items():
            need[key] = max(need[key], words)
    if round_pow2:
        need = {k: 1 << max(0, (v - 1).bit_length()) for k, v in need.items()}
    return AcceleratorParams(array=array, **need)


def run_layers(params: AcceleratorParams, layers, *, simulator: str = "verilator", run_dir=None,
               wall_timeout_s: float = 1800, waves: bool = False) -> list[dict]:
    """Run ``layers`` in order on one accelerator; return one result dict per layer."""
    R, C = params.rows, params.cols
    run_dir = Path(run_dir or runner.BUILD_ROOT / "runs" / f"accel-{R}x{C}-{simulator}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, layer in enumerate(layers):
        W = np.asarray(layer.W, np.float32)
        X = np.asarray(layer.X, np.float32)
        M, K = W.shape
        N = X.shape[1]
        stem = run_dir / f"L{i}"
        w_img, x_img = weight_image(W, R, C), input_image(X, R)
        b_img = bias_image(layer.bias, C) if layer.bias is not None else np.zeros((0, C), np.uint32)
        for suffix, img in (("w", w_img), ("x", x_img), ("b", b_img)):
            write_words(f"{stem}.{suffix}.hex", img if img.size else np.zeros((1, img.shape[1]), np.uint32))
        expected = golden.linear(W, X, layer.bias, layer.relu, ftz=params.array.ftz)
        np.save(f"{stem}.expected.npy", expected)
        dm, dk, dn = layer.descriptor or (M, K, N)
        model = perf.cycles(params.array, max(M, 1), max(K, 1), max(N, 1))
        jobs.append({
            "name": layer.name, "m": dm, "k": dk, "n": dn,
            "use_bias": layer.bias is not None, "relu": bool(layer.relu),
            "n_w": min(len(w_img), params.weight_words), "n_x": min(len(x_img), params.input_words),
            "n_b": min(len(b_img), params.bias_words),
            "n_y": 0 if layer.descriptor else min(-(-M // C) * N, params.acc_words),
            "w_file": f"{stem}.w.hex", "x_file": f"{stem}.x.hex", "b_file": f"{stem}.b.hex",
            "y_file": f"{stem}.y.hex", "expected": None if layer.descriptor else f"{stem}.expected.npy",
            "expect_error": layer.descriptor is not None,
            # generous: twice the model plus loading and read-back through the port
            "watchdog_cycles": 2 * model["total"] + 2 * (len(w_img) + len(x_img) + len(b_img)) + 4 * M * N + 1000,
        })
    jobs_file = run_dir / "jobs.json"
    results_file = run_dir / "results.json"
    results_file.unlink(missing_ok=True)
    jobs_file.write_text(json.dumps(jobs, indent=1))
    spec = sim_build(params, simulator, waves)
    runner.run_test(spec, "sim.designs.accel.tb_gemm", run_dir=run_dir,
                    extra_env={"ACCEL_JOBS": str(jobs_file), "ACCEL_RESULTS": str(results_file),
                               "ACCEL_COLS": str(C)},
                    wall_timeout_s=wall_timeout_s)
    raw = json.loads(results_file.read_text())
    out = []
    for layer, job, res in zip(layers, jobs, raw):
        entry = dict(res)
        entry["model_counters"] = perf.cycles(params.array, *np.asarray(layer.W).shape, np.asarray(layer.X).shape[1]) \
            if not layer.descriptor else None
        if not layer.descriptor and not res["error"]:
            entry["Y"] = np.load(job["y_file"] + ".npy")
            entry["float64_err"] = golden.float64_error(layer.W, layer.X, layer.bias, layer.relu, entry["Y"])
        out.append(entry)
    return out
