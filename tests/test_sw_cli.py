"""python -m sw: help, a small successful run, and one-line errors that write nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sw import cli, export

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(code, err, match):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert match in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("sub", [[], ["prune"], ["partition"], ["bench"]])
def test_help(sub, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(sub + ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m sw")
    if sub == ["prune"]:
        assert "--partitions" in out and "--method" in out and "--export" in out


def test_subprocess_help_and_error_exit_codes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "sw", "--help"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "prune" in ok.stdout
    np.save(tmp_path / "w.npy", np.ones((4, 4)))
    bad = subprocess.run([sys.executable, "-m", "sw", "partition", str(tmp_path / "w.npy"), "-P", "0",
                          "-o", str(tmp_path / "out.npz")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "error: partitions must be at least 1, got 0"
    assert not (tmp_path / "out.npz").exists()
    argparse_bad = subprocess.run([sys.executable, "-m", "sw", "prune", "--method", "nope"],
                                  capture_output=True, text=True, env=env)
    assert argparse_bad.returncode == 2


def test_partition_command(tmp_path, capsys):
    W = np.random.default_rng(0).standard_normal((30, 40))
    np.save(tmp_path / "w.npy", W)
    code, out, _ = _run(["partition", str(tmp_path / "w.npy"), "-P", "3", "-o", str(tmp_path / "g.npz")], capsys)
    assert code == 0 and "kept" in out
    with np.load(tmp_path / "g.npz") as f:
        assert f["mask"].shape == (30, 40) and np.bincount(f["row_groups"]).tolist() == [10, 10, 10]


@pytest.mark.parametrize("array,P,match", [
    (np.ones((3, 4, 5)), 2, "must be 2-D"),
    (np.array([[1.0, np.nan], [1.0, 1.0]]), 2, "NaN or Inf"),
    (np.array([[1.0, np.inf], [1.0, 1.0]]), 2, "NaN or Inf"),
    (np.ones((5, 8)), 6, "larger than"),
    (np.ones((5, 8)), 0, "at least 1"),
])
def test_partition_command_bad_input(tmp_path, capsys, array, P, match):
    np.save(tmp_path / "w.npy", array)
    out_file = tmp_path / "g.npz"
    code, out, err = _run(["partition", str(tmp_path / "w.npy"), "-P", str(P), "-o", str(out_file)], capsys)
    _assert_one_line_error(code, err, match)
    assert not out_file.exists()


def _prune_args(tmp_path, *extra):
    return ["prune", "--data", "digits", "--epochs", "1", "--finetune-epochs", "1", "--threads", "1",
            "--build", str(tmp_path / "build"), "--export", str(tmp_path / "plan"),
            "--json", str(tmp_path / "result.json"), *extra]


def test_prune_command_end_to_end(tmp_path, capsys):
    code, out, err = _run(_prune_args(tmp_path, "--partitions", "2"), capsys)
    assert code == 0, err
    assert "| partition | P=2 |" in out and "plan written" in out
    assert len(list((tmp_path / "build" / "checkpoints").glob("*.pt"))) == 1
    manifest, layers = export.read(tmp_path / "plan")
    assert manifest["partitions"] == 2 and [lp.shape for lp in layers] == [(300, 64), (100, 300)]
    assert set(manifest["accuracy"]) == {"baseline", "pruned", "retrained"}
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["method"] == "partition" and 0 <= result["finetuned_top1"] <= 100


@pytest.mark.parametrize("extra,match", [
    (["--partitions", "0"], "at least 1"),
    (["--partitions", "65"], "larger than the layer classifier.1's 300 rows x 64 columns"),
    (["--partitions", "90", "--model", "lenet5"], "larger than the layer classifier.3's 84 rows x 120 columns"),
    (["--method", "magnitude", "--export", ""], "needs --density"),
    (["--method", "magnitude", "--export", "", "--density", "1.5"], "density must be in (0, 1]"),
    (["--partitions", "2", "--data", "nowhere/at/all"], "data set not found"),
    (["--partitions", "2", "--model", "resnet"], "unknown model"),
])
def test_prune_command_bad_input_writes_nothing(tmp_path, capsys, extra, match):
    code, out, err = _run(_prune_args(tmp_path, *extra), capsys)
    _assert_one_line_error(code, err, match)
    assert list(tmp_path.iterdir()) == []


def test_model_without_linear_layer(tmp_path, capsys):
    (tmp_path / "net.py").write_text(
        "from torch import nn\n\ndef conv_only():\n    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())\n")
    before = sorted(tmp_path.iterdir())
    code, out, err = _run(_prune_args(tmp_path, "--partitions", "2", "--model", f"{tmp_path / 'net.py'}:conv_only"),
                          capsys)
    _assert_one_line_error(code, err, "has no nn.Linear layer")
    assert sorted(tmp_path.iterdir()) == before


def test_missing_tiny_imagenet(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PP_TINYIMAGENET", str(tmp_path / "tiny"))
    code, out, err = _run(_prune_args(tmp_path, "--partitions", "3", "--model", "tinyvgg16",
                                      "--data", "tinyimagenet"), capsys)
    _assert_one_line_error(code, err, "Tiny ImageNet not found")
    assert list(tmp_path.iterdir()) == []


def test_user_model_file(tmp_path, capsys):
    (tmp_path / "net.py").write_text(
        "from torch import nn\n\ndef mlp():\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),\n"
        "                         nn.Linear(16, 10))\n")
    args = _prune_args(tmp_path, "--partitions", "4", "--model", f"{tmp_path / 'net.py'}:mlp")
    args[args.index("--epochs") + 1] = "0"
    args[args.index("--finetune-epochs") + 1] = "0"
    code, out, err = _run(args, capsys)
    assert code == 0, err
    manifest, layers = export.read(tmp_path / "plan")
    assert [lp.shape for lp in layers] == [(32, 64), (16, 32)]
    assert [lp.activation for lp in layers] == ["relu", "relu"]


@pytest.fixture
def no_training(monkeypatch):
    """Bad input must be refused before anything is trained."""
    from sw import train

    def refuse(*args, **kwargs):
        raise AssertionError("trained before the input was checked")
    monkeypatch.setattr(train, "fit", refuse)


@pytest.mark.parametrize("option,target,match", [
    ("--json", "afile/result.json", "exists and is not a directory"),
    ("--json", "afile/sub/result.json", "is not a writable directory"),
    ("--json", "adir", "is a directory"),
    ("--export", "afile/plan", "cannot create or write it"),
    ("--export", "afile", "is not a directory"),
    ("--threads", "-1", "--threads must be at least 1"),
    ("--threads", "0", "--threads must be at least 1"),
])
def test_prune_unwritable_output_or_bad_threads_fails_before_training(tmp_path, capsys, no_training, option,
                                                                      target, match):
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    args = _prune_args(tmp_path, "--partitions", "2")
    args[args.index(option) + 1] = target if option == "--threads" else str(tmp_path / target)
    before = sorted(tmp_path.rglob("*"))
    code, out, err = _run(args, capsys)
    _assert_one_line_error(code, err, match)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("content,match", [
    (b"this is not a zip file", "cannot read"),
    ("x_only", "needs arrays"),
    ("lengths", "different lengths"),
    ("flat", "features must be a numeric array of samples"),
    ("labels2d", "labels must be a 1-D"),
    ("objects", "cannot read"),
    ("nan", "NaN or infinity"),
])
def test_malformed_data_npz(tmp_path, capsys, no_training, content, match):
    path = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 1, 8, 8)).astype(np.float32), np.arange(20) % 3
    arrays = {"x_only": {"x": x}, "lengths": {"x": x, "y": y[:5]}, "flat": {"x": x.ravel(), "y": y},
              "labels2d": {"x": x, "y": y[:, None]}, "nan": {"x": x * np.nan, "y": y},
              "objects": {"x": np.array([{"a": 1}] * 20, dtype=object), "y": y}}
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.savez(path, **arrays[content])
    code, out, err = _run(["prune", "--data", str(path), "--partitions", "2", "--no-cache"], capsys)
    _assert_one_line_error(code, err, match)


@pytest.mark.parametrize("target,match", [("afile/dir/x.npz", "is not a writable directory"),
                                          ("afile/x.npz", "exists and is not a directory"),
                                          ("adir", "is a directory")])
def test_partition_output_path_checked_first(tmp_path, capsys, target, match):
    np.save(tmp_path / "w.npy", np.ones((4, 4)))
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    code, out, err = _run(["partition", str(tmp_path / "w.npy"), "-P", "2", "-o", str(tmp_path / target)], capsys)
    _assert_one_line_error(code, err, match)
    assert out == ""


def test_partition_output_written_whole_into_missing_directories(tmp_path, capsys):
    """-o missing/dir/x.npz creates missing/dir (as --json, --out and --export do)."""
    np.save(tmp_path / "w.npy", np.arange(16, dtype=np.float32).reshape(4, 4) + 1)
    target = tmp_path / "missing" / "dir" / "g.npz"
    code, out, err = _run(["partition", str(tmp_path / "w.npy"), "-P", "2", "-o", str(target)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in target.parent.iterdir()) == ["g.npz"]     # no temporary left
    with np.load(target) as f:
        assert set(f.files) == {"row_groups", "col_groups", "mask"}


def test_bench_sparse_bad_threads_and_output(tmp_path, capsys):
    code, out, err = _run(["bench-sparse", "--quick", "--threads", "-1"], capsys)
    _assert_one_line_error(code, err, "--threads must be at least 1")
    (tmp_path / "afile").write_text("")
    code, out, err = _run(["bench-sparse", "--quick", "--json", str(tmp_path / "afile" / "r.json")], capsys)
    _assert_one_line_error(code, err, "exists and is not a directory")
