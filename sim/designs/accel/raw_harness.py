"""Raw Verilator build of accel_tb.sv with a C++ main (sim/designs/accel/raw/accel_main.cpp).

The same testbench and Verilog that cocotb runs, with the clock and the
handshake in C++: the peer against which the cocotb path's speed is
measured in ``make bench``.
"""

import json
import shutil
from pathlib import Path

from hw.config import AcceleratorParams
from sim.core import runner, toolchain
from .accel import MODULE, TB_SOURCE, accelerator_source

HARNESS = Path(__file__).resolve().parent / "raw" / "accel_main.cpp"


def build_raw(params: AcceleratorParams) -> Path:
    toolchain.setup_env("verilator")
    source = accelerator_source(params)
    tb = TB_SOURCE
    key = runner._hash(source.read_bytes(), tb.read_bytes(), HARNESS.read_bytes(),
                       json.dumps(runner.tool_versions("verilator"), sort_keys=True),
                       runner.source_hash(Path(__file__), *runner._BUILD_CODE))
    directory = runner.BUILD_ROOT / "raw" / f"accel-{params.rows}x{params.cols}-{key}"
    binary = directory / "accel_raw"
    stamp = directory / ".built"
    if stamp.exists():
        return binary
    with runner._build_lock(directory):
        if not stamp.exists():
            if directory.exists():
                shutil.rmtree(directory)        # an interrupted build is not reused
            _verilate(params, source, tb, directory, binary)
            runner._write_stamp(stamp, key)
    return binary


def _verilate(params, source, tb, directory, binary):
    directory.mkdir(parents=True, exist_ok=True)
    control = directory / "hier.vlt"
    control.write_text(f'`verilator_config\nhier_block -module "{MODULE}_pe_row"\n')
    cmd = ["verilator", "--cc", "--exe", "--build", "--hierarchical", "-j", "2", "-Wno-fatal",
           "--top-module", "accel_tb", "-Mdir", str(directory), "-o", "accel_raw",
           "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
           f"-GROWS={params.rows}", f"-GCOLS={params.cols}", f"-GWDEPTH={params.weight_words}",
           f"-GXDEPTH={params.input_words}", f"-GBDEPTH={params.bias_words}", f"-GADEPTH={params.acc_words}",
           str(control), str(HARNESS), str(tb), str(source)]
    done = runner.run_child(cmd, capture=True)
    (directory / "build.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or not binary.exists():
        raise runner.SimulationError(f"raw Verilator build failed; log: {directory / 'build.log'}")


def run_raw(binary: Path, job: dict, workdir: Path, timeout_s: float = 1800) -> dict:
    """Run one job (as written by sim.designs.accel.accel.run_layers) on the raw binary."""
    args = [str(binary)] + [str(job[k]) for k in ("n_w", "n_x", "n_b", "n_y", "m", "k", "n")]
    args += [str(int(job["use_bias"])), str(int(job["relu"]))]
    args += [f"+W_FILE={job['w_file']}", f"+X_FILE={job['x_file']}", f"+B_FILE={job['b_file']}",
             f"+Y_FILE={workdir / 'raw_y.hex'}"]
    done = runner.run_child(args, capture=True, timeout=timeout_s, cwd=workdir)
    if done.returncode != 0:
        raise runner.SimulationError(f"raw harness failed: {done.stderr.strip()[-200:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
