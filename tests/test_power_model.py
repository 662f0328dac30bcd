"""sim.power without a simulator: tables, file readers, the energy formula, reports, CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.core.constants import PAPER_ENERGY_RATIO_P3
from sim.power import (Activity, CoverageFileError, Design, DramTraffic, EnergyTableError, FPOps,
                       Inventory, SramTraffic, compute_energy, load_table, read_coverage, read_vcd,
                       scan_verilog, summarize)
from sim.power.cli import main as cli_main
from sim.power.report import (energy_markdown, energy_ratio, energy_section,
                              plot_energy, totals_fields)
from sim.power.tables import REQUIRED_FIGURES, TABLE_DIR

TESTDATA = Path(__file__).resolve().parent.parent / "sim" / "power" / "testdata"
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- tables

@pytest.mark.parametrize("name", ["aladdin-40nm", "horowitz-45nm"])
def test_shipped_tables_load_with_sources(name):
    t = load_table(name)
    assert t.name == name and t.dram.name == "ddr3-1600"
    for fig in REQUIRED_FIGURES:
        assert t.figures[fig].source.strip()
    assert all(e.source for e in t.sram)
    prov = t.provenance()
    assert prov["fp32_mul_pj"]["source"] and prov["dram"]["read_pj_per_bit"]["source"]


def test_table_values_follow_design_md():
    al, hz = load_table("aladdin-40nm"), load_table("horowitz-45nm")
    assert round(al.figure("fp32_mul_pj"), 1) == 24.4 and round(al.figure("fp32_add_pj"), 1) == 7.9
    assert hz.figure("fp32_mul_pj") == 3.7 and hz.figure("fp32_add_pj") == 0.9
    # a register written with random data every cycle: clock + half a toggle per bit = 9.0 fJ
    assert al.figure("flop_clock_fj") + 0.5 * al.figure("register_toggle_fj") == pytest.approx(9.0, abs=0.02)
    assert al.sram_access_pj(8192, 32) == pytest.approx(3.8)
    assert al.sram_access_pj(131072, 32) == pytest.approx(14.1)
    assert hz.sram_access_pj(32768, 64) == pytest.approx(20.0)
    d = al.dram
    assert (d.figure("read_pj_per_bit"), d.figure("write_pj_per_bit"), d.figure("activate_precharge_nj"),
            d.figure("background_w_per_rank")) == (14.0, 10.0, 10.9, 0.5)
    # Horowitz has no register figure: borrowed and marked
    assert hz.figures["flop_clock_fj"].borrowed_from == "aladdin-40nm"
    assert hz.figures["register_toggle_fj"].borrowed_from == "aladdin-40nm"
    assert hz.figures["leakage_flop_uw"].borrowed_from == "aladdin-40nm"
    assert al.figures["wire_toggle_fj"].assumption and al.figures["leakage_sram_uw_per_kib"].assumption


def test_sram_interpolation_is_monotone_and_scales_with_width():
    t = load_table("aladdin-40nm")
    sizes = [1024, 8192, 16384, 32768, 65536, 131072, 1 << 20]
    energies = [t.sram_access_pj(s, 32) for s in sizes]
    assert energies == sorted(energies)
    assert 3.8 < t.sram_access_pj(16384, 32) < 4.9
    assert t.sram_access_pj(32768, 1024) == pytest.approx(32 * 4.9)
    assert t.sram_access_pj(32768, 32, "write") == pytest.approx(4.9)


def _table_json():
    return json.loads((TABLE_DIR / "aladdin-40nm.json").read_text())


def _write(tmp_path, data, name="t.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_user_table_file_with_relative_dram(tmp_path):
    data = _table_json()
    data["name"] = "mine"
    data["figures"]["fp32_mul_pj"]["value"] = 10.0
    dram = json.loads((TABLE_DIR / "ddr3-1600.json").read_text())
    dram["name"] = "my-dram"
    _write(tmp_path, dram, "my-dram.json")
    data["dram"] = "my-dram.json"
    t = load_table(_write(tmp_path, data))
    assert t.name == "mine" and t.figure("fp32_mul_pj") == 10.0 and t.dram.name == "my-dram"
    data["dram"] = dram          # inline works too
    assert load_table(_write(tmp_path, data)).dram.name == "my-dram"


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["figures"].pop("fp32_add_pj"), "figures.fp32_add_pj"),
    (lambda d: d["figures"]["fp32_mul_pj"].pop("value"), "figures.fp32_mul_pj.value"),
    (lambda d: d["figures"]["fp32_mul_pj"].__setitem__("value", "24"), "figures.fp32_mul_pj.value"),
    (lambda d: d["figures"]["wire_toggle_fj"].__setitem__("value", -1), "figures.wire_toggle_fj.value"),
    (lambda d: d["figures"]["flop_clock_fj"].pop("source"), "figures.flop_clock_fj.source"),
    (lambda d: d["sram"][1].pop("read_pj"), "sram[1].read_pj"),
    (lambda d: d.__setitem__("sram", []), "sram"),
    (lambda d: d.pop("dram"), "dram"),
    (lambda d: d.__setitem__("schema", "other/2"), "schema"),
    (lambda d: d.pop("figures"), "figures"),
])
def test_malformed_table_names_file_and_field(tmp_path, mutate, field):
    data = _table_json()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(EnergyTableError) as exc:
        load_table(path)
    msg = str(exc.value)
    assert str(path) in msg and f"'{field}'" in msg and "\n" not in msg


def test_missing_or_unparsable_table(tmp_path):
    with pytest.raises(EnergyTableError, match="nope.json: energy table file not found"):
        load_table(tmp_path / "nope.json")
    bad = _write(tmp_path, "{ not json")
    with pytest.raises(EnergyTableError, match=r"t\.json: not valid JSON \(line 1"):
        load_table(bad)
    data = _table_json()
    data["dram"] = "missing-dram"
    with pytest.raises(EnergyTableError, match=r"field 'dram' \('missing-dram'\).*missing-dram"):
        load_table(_write(tmp_path, data))


# ---------------------------------------------------------------- coverage files

def test_coverage_both_formats_agree():
    new = {s.path: s for s in read_coverage(TESTDATA / "coverage_v5048.dat")}
    old = {s.path: s for s in read_coverage(TESTDATA / "coverage_legacy.dat")}
    assert set(new) == set(old)
    for path, s in new.items():
        assert s.toggles == old[path].toggles
        assert s.rises + s.falls == s.toggles and old[path].rises is None
    a = new["fp_stream_tb.dut.a"]
    assert a.module == "fp32_mul" and a.bits == 4
    assert new["fp_stream_tb.dut.$1051"].signal == "$1051"      # __0241051 demangled
    assert new["fp_stream_tb.dut.clk"].rises == 507                # 507 cycles simulated
    assert new["fp_stream_tb.a"].module == "fp_stream_tb"


@pytest.mark.parametrize("text,expect", [
    ("garbage line\n", r"x\.dat:2: expected a coverage point"),
    ("C '\x01o\x02a[0]:0->1\x01h\x02top' twelve\n", r"x\.dat:2: field 'count'"),
    ("C '\x01t\x02toggle\x01page\x02v_toggle/m\x01o\x02a' 3\n", r"x\.dat:2: field 'h' missing"),
    ("C '\x01t\x02toggle\x01obroken' 3\n", r"x\.dat:2: field 'obroken': no \\x02"),
])
def test_malformed_coverage_names_file_and_line(tmp_path, text, expect):
    path = tmp_path / "x.dat"
    path.write_text("# SystemC::Coverage-3\n" + text)
    with pytest.raises(CoverageFileError, match=expect):
        read_coverage(path)


def test_missing_or_empty_coverage(tmp_path):
    with pytest.raises(CoverageFileError, match="none.dat: coverage file not found"):
        read_coverage(tmp_path / "none.dat")
    (tmp_path / "empty.dat").write_text("")
    with pytest.raises(CoverageFileError, match="empty.dat: no toggle coverage points"):
        read_coverage(tmp_path / "empty.dat")


VCD = """$timescale 1ps $end
$scope module tb $end
$var wire 1 ! clk $end
$scope module dut $end
$var wire 1 ! clk $end
$var reg 4 " q [3:0] $end
$var wire 1 # \\$5 $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
bxxxx "
x#
$end
#5
1!
b1010 "
1#
#10
0!
b0101 "
#15
1!
$dumpoff
bxxxx "
$end
#20
$dumpon
b0101 "
b1 "
0#
"""


def test_vcd_toggle_counts(tmp_path):
    path = tmp_path / "w.vcd"
    path.write_text(VCD)
    sig = {s.path: s for s in read_vcd(path, scope="tb.dut")}
    assert set(sig) == {"tb.dut.clk", "tb.dut.q", "tb.dut.$5"}
    q = sig["tb.dut.q"]
    # x->1010 (2 rises from 0), 1010->0101 (2 rises, 2 falls), 0101->0001 (1 fall)
    assert (q.rises, q.falls, q.toggles, q.bits, q.saw_x) == (4, 3, 7, 4, True)
    assert (sig["tb.dut.$5"].rises, sig["tb.dut.$5"].falls) == (1, 1)
    assert sig["tb.dut.clk"].rises == 2 and not sig["tb.dut.clk"].saw_x
    strict = {s.path: s for s in read_vcd(path, scope="tb.dut", x_as_zero=False)}
    assert (strict["tb.dut.q"].rises, strict["tb.dut.q"].falls) == (2, 3)


@pytest.mark.parametrize("text,expect", [
    ("$scope module tb $end\n$var wire x ! a $end\n", r"w\.vcd:2: malformed VCD: Expected decimal value"),
    ("$scope module tb $end\n$var wire 1 ! a $end\n$upscope $end\n", r"w\.vcd:3: no \$enddefinitions"),
    ("$scope module tb $end\n$var wire 4 ! a $end\n$upscope $end\n$enddefinitions $end\n#0\nb10!\n",
     r"w\.vcd:6: malformed VCD: Expected whitespace after vector value"),
    ("$scope module tb $end\n$var wire 1 ! a $end\n$upscope $end\n$enddefinitions $end\n#0\n?!\n",
     r"w\.vcd:6: malformed VCD: confused: \?"),
    ("$scope module tb $end\n$var wire 4 ! a $end\n$upscope $end\n$enddefinitions $end\n#0\nb !\n",
     r"w\.vcd:6: malformed VCD: bad value"),
    ("$scope module tb $end\n$var wire 4 ! a $end\n$upscope $end\n$enddefinitions $end\n#0\nb1010",
     r"w\.vcd:6: malformed VCD: the file ends inside a value change"),
    ("", r"w\.vcd:0: no \$enddefinitions"),
])
def test_malformed_vcd_names_file_and_line(tmp_path, text, expect):
    path = tmp_path / "w.vcd"
    path.write_text(text)
    with pytest.raises(CoverageFileError, match=expect):
        read_vcd(path)


# ---------------------------------------------------------------- netlist and classification

VERILOG = r"""
module top(clk, x, y);
  input clk; wire clk;
  input [3:0] x; wire [3:0] x;
  output [3:0] y; wire [3:0] y;
  reg [7:0] count = 8'd0;
  reg [31:0] wmem [15:0];
  reg [31:0] _0_;
  wire [3:0] \$7 ;
  always @(posedge clk)
    count <= count + 8'd1;
  always @(posedge clk) begin
    if (x[0]) wmem[x] <= 32'd1;
    _0_ <= wmem[x];
  end
  \top.inner  inner (
    .clk(clk),
    .d(x),
    .q(y)
  );
endmodule

module \top.inner (clk, d, q);
  input clk; wire clk;
  input [3:0] d; wire [3:0] d;
  output [3:0] q; reg [3:0] q;
  always @(posedge clk)
    q <= d;
endmodule
"""


def test_netlist_scan(tmp_path):
    path = tmp_path / "top.v"
    path.write_text(VERILOG)
    mods = scan_verilog(path)
    top, inner = mods["top"], mods["top.inner"]
    assert top.flops == {"count": 8, "_0_": 32} and top.memories == {"wmem": (32, 16)}
    assert top.instances == [("top.inner", "inner")] and {"x", "y", "clk"} <= top.port_nets
    assert inner.flops == {"q": 4} and inner.ports["d"] == "input"
    d = Design(mods, "top", "tb.dut")
    assert d.flop_bits() == 44 and list(d.memories()) == [("tb.dut", "wmem", 32, 16)]
    from sim.power.activity import SignalToggles as S
    signals = [S("tb.dut", None, "count", 8, 10), S("tb.dut", None, "x", 4, 6), S("tb.dut", None, "clk", 1, 20, 10, 10),
               S("tb.dut", None, "wmem", 512, 99), S("tb.dut", None, "_0_", 32, 5), S("tb.dut", None, "$7", 4, 3),
               S("tb.dut.inner", None, "d", 4, 6), S("tb.dut.inner", None, "q", 4, 7), S("tb", None, "x", 4, 6)]
    s = summarize(signals, d)
    assert s.clock_cycles == 10
    assert s.by_component == {"control": {"reg": 10 + 7, "wire": 3 + 6}, "scratchpad": {"reg": 5, "wire": 0}}
    # count (reg, control), $7 (wire), inner.d (wire) and inner.q (reg) are charged; x is counted in the
    # child (inner.d); the memory array, the clock and the testbench are not.
    assert s.total("reg") == 10 + 5 + 7 and s.total("wire") == 3 + 6
    assert s.by_component["scratchpad"] == {"reg": 5, "wire": 0}
    assert s.excluded["outside the design (testbench)"] == 6
    assert s.excluded["memory array (charged per access)"] == 99


# ---------------------------------------------------------------- the energy formula

def _activity(**kw):
    base = dict(cycles=1000, clock_hz=200e6, toggles={"pe": {"reg": 1000, "wire": 2000}, "fp_units": {"reg": 5, "wire": 9}},
                fp_ops=[FPOps("fp32_mul", 100, 3200), FPOps("fp32_add", 100, 1600)],
                sram=[SramTraffic("wmem", 32768, 32, reads=10, writes=5)],
                dram=DramTraffic(bytes_read=8192, bytes_written=4096),
                inventory=Inventory(flop_bits=100, leaky_flop_bits=60, fp32_mul_units=1, fp32_add_units=1,
                                    sram_bytes=32768))
    base.update(kw)
    return Activity(**base)


def test_energy_formula_by_hand():
    t = load_table("aladdin-40nm")
    e = compute_energy(_activity(), t)
    c = e.components
    assert c["fp_mul"] == pytest.approx(100 * 24.35)               # 32 toggles/op: the table value
    assert c["fp_add"] == pytest.approx(100 * 7.93 * 16 / 32)      # half the reference activity
    assert c["register_toggles"] == pytest.approx(1000 * 2.15e-3)  # fp_units toggles are not charged
    assert c["wire_toggles"] == pytest.approx(2000 * 0.81e-3)
    assert c["clock"] == pytest.approx(100 * 1000 * 7.93e-3)
    assert c["sram"] == pytest.approx(15 * 4.9)
    assert c["dram_read_write"] == pytest.approx(8192 * 8 * 14 + 4096 * 8 * 10)
    assert c["dram_activate"] == pytest.approx(1.5 * 10.9e3)        # 12 KiB streamed = 1.5 rows of 8 KiB
    seconds = 1000 / 200e6
    assert c["dram_background"] == pytest.approx(0.5 * seconds * 1e12)
    leak_uw = 42.16 + 15.20 + 60 * 0.074 + 32 * 2.0
    assert c["leakage"] == pytest.approx(leak_uw * seconds * 1e6)
    assert e.total_pj == pytest.approx(sum(c.values()))
    assert e.fixed_pj == pytest.approx(c["clock"] + c["dram_background"] + c["leakage"])
    assert e.by_unit == {"pe": pytest.approx(1000 * 2.15e-3 + 2000 * 0.81e-3), "fp_units": 0.0}
    assert e.details["fp"]["fp32_mul"]["pj_per_op"] == pytest.approx(24.35)


def test_dram_background_is_paid_per_channel():
    table = load_table("aladdin-40nm")
    one, two = (compute_energy(Activity(cycles=1000, dram=DramTraffic(64, 0, channels=c)), table) for c in (1, 2))
    assert one.components["dram_background"] > 0
    assert two.components["dram_background"] == pytest.approx(2 * one.components["dram_background"])
    assert two.components["dram_read_write"] == one.components["dram_read_write"]


def test_zero_activity_costs_only_time():
    t = load_table("horowitz-45nm")
    e = compute_energy(_activity(toggles={}, fp_ops=[FPOps("fp32_mul", 100, 0)], sram=[], dram=None), t)
    assert e.components["fp_mul"] == 0 and e.activity_pj == 0
    assert e.total_pj == pytest.approx(e.components["clock"] + e.components["leakage"])


def test_energy_is_linear_in_repeated_work():
    t = load_table("aladdin-40nm")
    one, two = compute_energy(_activity(), t), compute_energy(_activity().scaled(2), t)
    assert two.total_pj == pytest.approx(2 * one.total_pj)
    back = Activity.from_dict(json.loads(json.dumps(_activity().as_dict())))
    assert compute_energy(back, t).total_pj == pytest.approx(one.total_pj)


def test_unknown_fp_op_is_an_error():
    with pytest.raises(ValueError, match="unknown FP operation 'fp64_mul'"):
        compute_energy(_activity(fp_ops=[FPOps("fp64_mul", 1)]), load_table("aladdin-40nm"))


# ---------------------------------------------------------------- reports

def _layers(scale):
    out = []
    for i, name in enumerate(("fc1", "fc2", "fc3")):
        act = _activity().scaled(scale * (3 - i))
        out.append((name, {t: compute_energy(act, load_table(t)) for t in ("aladdin-40nm", "horowitz-45nm")}))
    return out


def test_report_section_markdown_and_plot(tmp_path):
    pruned, baseline = _layers(1), _layers(3)
    tables = {t: load_table(t) for t in ("aladdin-40nm", "horowitz-45nm")}
    section = energy_section(pruned, baseline=baseline, partitions=3, tables=tables, clock_hz=200e6)
    json.dumps(section)                                       # serialisable as is
    assert [l["name"] for l in section["layers"]] == ["fc1", "fc2", "fc3"]
    total = section["totals"]["aladdin-40nm"]["energy_pj"]
    assert total == pytest.approx(sum(l["energy_pj"]["aladdin-40nm"] for l in section["layers"]))
    assert total == pytest.approx(sum(section["totals"]["aladdin-40nm"]["components_pj"].values()))
    for t in tables:
        c = section["comparison"]["tables"][t]
        assert c["energy_ratio"] == pytest.approx(3.0)
    assert section["comparison"]["paper_ratio"] == PAPER_ENERGY_RATIO_P3 == 2.73
    fields = totals_fields(section)
    assert set(fields) >= {"baseline_energy_pj", "energy_pj", "energy_ratio"} and fields["energy_ratio"] == pytest.approx(3)
    assert section["tables"]["horowitz-45nm"]["figures"]["flop_clock_fj"]["borrowed_from"] == "aladdin-40nm"
    md = energy_markdown(section)
    assert "| aladdin-40nm |" in md and "| 3.00x | 3.00x |" in md and "| fc2 |" in md and "FP32 multiply" in md
    for t in tables:                       # the baseline is the same work three times over
        c = section["comparison"]["tables"][t]
        assert c["event_energy_ratio"] == pytest.approx(3.0)
        share = c["time_proportional_share"]
        assert 0 < share["pruned"] < 1 and share["baseline"] == pytest.approx(share["pruned"])
    assert section["shared"].startswith("horowitz-45nm borrows flop_clock_fj")
    assert "DRAM table" in section["shared"] and f"Figures the tables share: {section['shared']}" in md
    png = plot_energy(section, tmp_path / "energy.png", title="P=3")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert energy_ratio(10.0, 0.0) is None


# ---------------------------------------------------------------- CLI

def test_cli_prints_breakdown(tmp_path, capsys):
    counters = _write(tmp_path, {"fp_ops": {"fp32_mul": 500}}, "counters.json")
    assert cli_main(["--coverage", str(TESTDATA / "coverage_v5048.dat"), "--scope", "fp_stream_tb.dut",
                     "--counters", str(counters)]) == 0
    out = capsys.readouterr().out
    assert "cycles 507 at 200 MHz" in out and "aladdin-40nm" in out and "horowitz-45nm" in out


@pytest.mark.parametrize("args,expect", [
    (["--energy-table", "no-such-table", "--coverage", "COV"], "no-such-table: energy table file not found"),
    (["--coverage", "/nonexistent/coverage.dat"], "/nonexistent/coverage.dat: coverage file not found"),
    (["--coverage", "COV", "--counters", "BAD"], "field 'fp_ops.fp32_mul': must be a non-negative number"),
])
def test_cli_errors_are_one_line(tmp_path, args, expect):
    bad = _write(tmp_path, {"fp_ops": {"fp32_mul": -3}}, "bad.json")
    args = [str(TESTDATA / "coverage_v5048.dat") if a == "COV" else str(bad) if a == "BAD" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "sim.power", *args], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and expect in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- accelerator event counts

def test_accelerator_event_counts():
    from hw.config import AcceleratorParams, ArrayParams
    from sim.power.accelerator import fp_ops, scratchpad_traffic
    p = AcceleratorParams(array=ArrayParams(rows=4, cols=4), weight_words=64, input_words=64,
                          acc_words=64, bias_words=4)
    # M=10, K=6, N=5: KT=2, MT=3 tiles, 30 issues, each through all 16 PEs (padding included)
    assert fp_ops(p, 10, 6, 5) == {"fp32_mul": 480, "fp32_add": 480}
    assert fp_ops(p, 10, 6, 5, issues=30) == fp_ops(p, 10, 6, 5)
    always = {s.name: s for s in scratchpad_traffic(p, 10, 6, 5, cycles=100, use_bias=True,
                                                    read_ports_always_enabled=True)}
    assert always["weights"].reads == 100 and always["acc"].reads == 200
    assert always["weights"].writes == 24 and always["inputs"].writes == 10 and always["acc"].writes == 30
    assert always["weights"].size_bytes == 64 * 16 and always["weights"].width_bits == 128
    used = {s.name: s for s in scratchpad_traffic(p, 10, 6, 5, cycles=100, use_bias=True)}
    assert (used["weights"].reads, used["inputs"].reads, used["bias"].reads, used["acc"].reads) == (24, 30, 15, 30)
