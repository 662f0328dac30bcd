"""``WAVES=1`` records waveforms (README, Make targets and options): a VCD on Icarus, named on stderr.

The runner turns waves on for every build and run when WAVES is set, so
``python -m sim gemm`` and ``make sim`` need no flag of their own.  Icarus is
used here because its 4x4 accelerator builds in seconds.
"""

from sim.core import runner
from sim.__main__ import main
from sim.power import read_vcd

GEMM = ["gemm", "--rows", "4", "--cols", "4", "--m", "6", "--k", "5", "--n", "3", "--sim", "icarus"]


def test_waves_env_writes_a_vcd_on_icarus(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.setenv("WAVES", "1")
    assert main(GEMM) == 0
    err = capsys.readouterr().err
    vcd = tmp_path / "build" / "runs" / "gemm-4x4-icarus" / "accel_tb.vcd"
    assert f"waves: {vcd}" in err
    assert vcd.stat().st_size > 0
    assert vcd.read_text(errors="replace").startswith("$date")      # VCD text, not FST
    toggles = {s.path: s for s in read_vcd(vcd, scope="accel_tb")}
    assert toggles["accel_tb.clk"].rises > 10                           # the clock ran while dumping


def test_without_waves_no_waveform_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.delenv("WAVES", raising=False)
    assert main(GEMM) == 0
    assert "waves:" not in capsys.readouterr().err
    assert not list((tmp_path / "build" / "runs").rglob("*.vcd"))
