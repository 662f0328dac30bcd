"""The generator CLI: outputs, manifest, and one-line errors with exit code 2."""

import json
import re
import subprocess
import sys

import pytest

from hw.fp32.params import DEFAULT_ADD_LATENCY, DEFAULT_MUL_LATENCY


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hw.generate", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("block,default", [("fp32_mul", DEFAULT_MUL_LATENCY), ("fp32_add", DEFAULT_ADD_LATENCY)])
def test_writes_module_and_manifest(block, default, tmp_path):
    done = run_cli(block, "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    verilog = (tmp_path / f"{block}.v").read_text()
    header = re.search(rf"module {block}\((.*?)\);", verilog).group(1)
    assert sorted(p.strip() for p in header.split(",")) == sorted(
        ["clk", "rst", "in_valid", "a", "b", "out_valid", "result"])
    assert re.search(r"input \[31:0\] a;", verilog) and re.search(r"output \[31:0\] result;", verilog)
    manifest = json.loads((tmp_path / f"{block}.json").read_text())
    assert manifest["module"] == block
    assert manifest["parameters"] == {"latency": default, "ftz": False}


def test_latency_option_changes_design(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("fp32_add", "--latency", "1", "-o", str(a)).returncode == 0
    assert run_cli("fp32_add", "--latency", "4", "-o", str(b)).returncode == 0
    ma = json.loads((a / "fp32_add.json").read_text())
    mb = json.loads((b / "fp32_add.json").read_text())
    assert ma["parameters"]["latency"] == 1 and mb["parameters"]["latency"] == 4
    assert ma["verilog_sha256"] != mb["verilog_sha256"]


@pytest.mark.parametrize("args,message", [
    (["nonsense", "-o", "{tmp}"], "unknown block"),
    (["fp32_mul", "--latency", "0", "-o", "{tmp}"], "latency must be"),
    (["fp32_mul", "--latency", "x", "-o", "{tmp}"], "invalid int value"),
    (["fp32_mul"], "required"),
    (["fp32_add", "-o", "{tmp}/file/sub"], "cannot write"),
])
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    done = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("*.v")) and not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("block,module", [("pe", "pp_pe"), ("array", "pp_array"), ("accelerator", "pp_accel")])
def test_hierarchical_blocks(block, module, tmp_path):
    done = run_cli(block, "--rows", "3", "--cols", "2", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    verilog = (tmp_path / f"{module}.v").read_text()
    assert f"module {module}(" in verilog
    manifest = json.loads((tmp_path / f"{module}.json").read_text())
    assert manifest["parameters"]["rows"] == 3 and manifest["parameters"]["cols"] == 2
    assert manifest["ports"]["clk"] == {"direction": "In", "width": 1}
    if block == "accelerator":
        assert manifest["ports"]["wr_data"]["width"] == 32 * 3
        assert manifest["ports"]["rd_data"]["width"] == 32 * 2
        # the PE and the PE row are converted once and placed by instance:
        # 3 rows of 2 PEs, one definition each
        assert verilog.count(f"module {module}_pe(") == 1
        assert verilog.count(f"module {module}_pe_row(") == 1
        assert verilog.count(f"  {module}_pe_row ") == 3
        assert verilog.count(f"  {module}_pe ") == 2


@pytest.mark.parametrize("args,message", [
    (["array", "--rows", "4", "-o", "{tmp}"], "needs --rows and --cols"),
    (["accelerator", "--rows", "0", "--cols", "4", "-o", "{tmp}"], "rows must be"),
    (["accelerator", "--rows", "4", "--cols", "4", "--acc-words", "0", "-o", "{tmp}"], "acc_words must be"),
])
def test_hierarchical_bad_input(args, message, tmp_path):
    done = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert done.returncode == 2 and done.stderr.startswith("error:") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_soc_block(tmp_path):
    done = run_cli("soc", "--accelerators", "2", "--rows", "2", "--cols", "3", "--bus-width", "128",
                   "--mem-ports", "2", "--read-burst", "8", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "pp_soc.json").read_text())
    assert manifest["parameters"]["accelerators"] == 2 and manifest["parameters"]["mem_ports"] == 2
    assert manifest["parameters"]["read_burst"] == 8
    ports = manifest["ports"]
    for name in ("m0_axi_arvalid", "m1_axi_rdata", "s_axil_awaddr", "irq"):
        assert name in ports, name
    assert ports["m0_axi_rdata"]["width"] == 128 and ports["irq"]["width"] == 2


@pytest.mark.parametrize("args,message", [
    (["soc", "--rows", "2", "--cols", "2", "--bus-width", "100", "-o", "{tmp}"], "bus data width"),
    (["soc", "--rows", "2", "--cols", "2", "--accelerators", "0", "-o", "{tmp}"], "accelerators must be"),
    (["soc", "--rows", "2", "--cols", "2", "--mem-ports", "5", "-o", "{tmp}"], "memory ports"),
    (["soc", "--rows", "3", "--cols", "3", "--bus-width", "32", "--mem-ports", "2", "-o", "{tmp}"],
     "power-of-two number of bus beats"),
    (["soc", "--rows", "2", "--cols", "2", "--accelerators", "9", "--mem-ports", "4", "-o", "{tmp}"],
     "1 to 32 masters"),
    (["soc", "--rows", "2", "--cols", "2", "--read-burst", "0", "-o", "{tmp}"], "read_burst must be from 1 to 256"),
    (["soc", "--rows", "2", "--cols", "2", "--read-burst", "257", "-o", "{tmp}"], "read_burst must be from 1 to 256"),
])
def test_soc_bad_input(args, message, tmp_path):
    done = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
