"""sw.sparse_bench: every form matches the dense masked product, the timing
gives positive finite speedups, the Markdown has the expected rows, and bad input is
a one-line error with exit 2 that writes nothing. Small sizes: the full 4096 x 4096
bench runs by hand (python -m sw bench-sparse)."""

import json
import math

import numpy as np
import pytest
import torch

from sw import cli, sparse_bench
from sw.errors import PruningError
from sw.partition import partition_prune

torch.set_num_threads(1)

SMALL = dict(m=40, k=64, n=5, rates=(80.0, 90.0), group_sizes=(1, 4, 8), partitions=(2, 3, 5), warmup=1,
             repeats=2, min_sample_s=0.0005, threads=1)


@pytest.fixture(scope="module")
def small_results():
    return sparse_bench.measure(sparse_bench.SparseBenchConfig(**SMALL))


@pytest.mark.parametrize("shape, P", [((10, 7), 3), ((12, 12), 4), ((9, 20), 2), ((5, 5), 5)])
def test_block_diagonal_matches_masked_dense(shape, P, rng):
    W = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
    x = torch.from_numpy(rng.standard_normal((shape[1], 3)).astype(np.float32))
    plan = partition_prune(W, P, seed=0)
    ref = (W.double() * torch.from_numpy(np.array(plan.mask))) @ x.double()
    bd = sparse_bench.BlockDiagonal(W, plan)
    for out in (bd.bmm(x), bd.loop(x), bd.scatter(bd.bmm_permuted(bd.gather(x)))):
        assert out.shape == ref.shape and out.dtype == torch.float32
        ok, err = sparse_bench.check_output(out, ref)
        assert ok and err < 1e-5, err


def test_check_output_catches_a_wrong_result():
    ref = torch.arange(12, dtype=torch.float64).reshape(4, 3)
    assert sparse_bench.check_output(ref.float(), ref)[0]
    bad = ref.float().clone()
    bad[2, 1] += 0.01
    assert not sparse_bench.check_output(bad, ref)[0]
    bad[2, 1] = float("nan")
    assert not sparse_bench.check_output(bad, ref)[0]


def test_every_form_matches_dense_and_speedups_are_finite(small_results):
    res = small_results
    rows = res["rows"]
    assert [sparse_bench._fmt_rate(r["rate"]) for r in rows] == ["50.0", "66.7", "80.0", "90.0"]
    assert [r["P"] for r in rows] == [2, 3, 5, None]
    for rec in res["results"]:
        assert rec["ok"], rec
        assert rec["max_rel_err"] < 1e-4
        assert math.isfinite(rec["speedup"]) and rec["speedup"] > 0
        assert rec["median_s"] > 0 and len(rec["samples_s"]) == 2
    formats = {(r["rate_label"], r["format"], r["group_size"]) for r in res["results"]}
    for rl in ("50.0", "66.7", "80.0", "90.0"):
        assert (rl, "dense", None) in formats
        for g in (1, 4, 8):
            assert (rl, "csr", g) in formats
    for rl in ("50.0", "66.7", "80.0"):
        for fmt in ("partition-csr", "bd-bmm", "bd-loop", "bd-bmm-permuted"):
            assert (rl, fmt, None) in formats
    assert not any(r["rate_label"] == "90.0" and r["format"].startswith("bd") for r in res["results"])
    # densities match: magnitude/group-RMS at the partition's density
    for rec in res["results"]:
        if rec["format"] == "csr":
            assert abs(rec["density"] - (1 - rec["rate"] / 100)) < 0.02
    json.dumps(res)  # what --json writes


def test_markdown_table_and_headline(small_results, tmp_path):
    text = sparse_bench.run(sparse_bench.SparseBenchConfig(**SMALL), plot_path=tmp_path / "p.png",
                            results=small_results)
    assert (tmp_path / "p.png").stat().st_size > 1000
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| pruned % |"))
    assert "CSR g=1 (magnitude)" in header and "CSR g=8" in header and "block-diag bmm" in header
    table = [line for line in lines if line.startswith(("| 50.0 |", "| 66.7 |", "| 80.0 |", "| 90.0 |"))]
    assert [line.split("|")[1].strip() for line in table] == ["50.0", "66.7", "80.0", "90.0"]
    assert table[1].split("|")[2].strip() == "3" and table[3].split("|")[2].strip() == "-"
    assert "### P = 3 (66.7 % pruned)" in text
    assert "| **block-diagonal, bmm with gather/scatter** |" in text and "| magnitude, CSR |" in text
    assert "### Beside Hartenstein et al." in text and "| 94 % |" in text and "1.57x" in text
    assert "WRONG" not in text and str(tmp_path / "p.png") in text


def test_round_robin_timing():
    calls = []
    out = sparse_bench.time_round_robin({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                        torch.device("cpu"), warmup=1, repeats=3, min_sample_s=0)
    assert set(out) == {"a", "b"}
    for t in out.values():
        assert len(t["samples"]) == 3 and t["median"] > 0 and t["inner"] == 1
    assert calls == ["a", "a", "b", "b"] + ["a", "b"] * 3  # warm-up + calibration, then alternating


def test_cli_writes_json_markdown_and_plot(tmp_path, capsys):
    js, md, png = tmp_path / "r.json", tmp_path / "b.md", tmp_path / "s.png"
    code = cli.main(["bench-sparse", "--m", "24", "--k", "32", "--n", "3", "--rates", "90", "--group-sizes", "1,2",
                     "--partitions", "3", "--repeats", "2", "--warmup", "1", "--threads", "1",
                     "--json", str(js), "--out", str(md), "--plot", str(png)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "| 66.7 | 3 |" in out and "| 90.0 | - |" in out
    data = json.loads(js.read_text())
    assert data["config"]["m"] == 24 and data["machine"]["device"] == "cpu"
    assert {r["format"] for r in data["results"]} >= {"dense", "csr", "partition-csr", "bd-bmm", "bd-loop"}
    assert md.read_text().strip() == out.strip() and png.is_file()
    # re-render from the raw numbers (e.g. a GPU run's JSON): same Markdown, nothing measured
    md2, png2 = tmp_path / "b2.md", tmp_path / "s2.png"
    code = cli.main(["bench-sparse", "--from-json", str(js), "--out", str(md2), "--plot", str(png2)])
    out2, err = capsys.readouterr()
    assert code == 0, err
    assert out2.replace(str(png2), str(png)) == out and png2.is_file()


def _assert_one_line_error(code, err, match):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert match in lines[0], lines[0]


@pytest.mark.parametrize("argv, match", [
    (["--m", "0"], "--m must be a positive integer"),
    (["--k", "-3"], "--k must be a positive integer"),
    (["--n", "0"], "--n must be a positive integer"),
    (["--m", "8", "--k", "16", "--partitions", "2,9"], "partitions=9 is larger"),
    (["--m", "16", "--k", "8", "--partitions", "9"], "partitions=9 is larger"),
    (["--partitions", "0"], "partitions must be at least 1"),
    (["--partitions", "3,x"], "--partitions must be a comma-separated list"),
    (["--rates", "100"], "pruning rates must be in [0, 100)"),
    (["--rates", "abc"], "--rates must be a comma-separated list"),
    (["--group-sizes", "0"], "group sizes must be positive"),
    (["--repeats", "0"], "--repeats must be an integer >= 1"),
    (["--from-json", "/nonexistent/r.json"], "results file not found"),
])
def test_bad_input_is_one_line_and_writes_nothing(argv, match, tmp_path, capsys):
    js, md, png = tmp_path / "r.json", tmp_path / "b.md", tmp_path / "s.png"
    code = cli.main(["bench-sparse", *argv, "--json", str(js), "--out", str(md), "--plot", str(png)])
    _, err = capsys.readouterr()
    _assert_one_line_error(code, err, match)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_unavailable_is_one_line_error(tmp_path, capsys):
    js = tmp_path / "r.json"
    code = cli.main(["bench-sparse", "--device", "cuda", "--json", str(js)])
    _, err = capsys.readouterr()
    _assert_one_line_error(code, err, "CUDA is not available")
    assert not js.exists()
    with pytest.raises(PruningError):
        sparse_bench.measure(sparse_bench.SparseBenchConfig(device="cuda", m=8, k=8, n=2, partitions=(2,)))


def test_config_rows_merge_partition_rates():
    cfg = sparse_bench.SparseBenchConfig(m=64, k=64, n=2)
    rows = cfg.rows()
    assert [sparse_bench._fmt_rate(r["rate"]) for r in rows] == ["50.0", "66.7", "75.0", "80.0", "84.0", "90.0",
                                                                   "95.0", "98.0"]
    assert [r["P"] for r in rows] == [2, 3, 4, 5, None, 10, 20, 50]


def test_from_json_rejects_other_files(tmp_path, capsys):
    bad = tmp_path / "in" / "other.json"
    bad.parent.mkdir()
    bad.write_text('{"results": []}')
    out = tmp_path / "out"
    code = cli.main(["bench-sparse", "--from-json", str(bad), "--out", str(out / "b.md"), "--plot", str(out / "p.png")])
    _, err = capsys.readouterr()
    _assert_one_line_error(code, err, "is not a bench-sparse --json file")
    assert not out.exists()
