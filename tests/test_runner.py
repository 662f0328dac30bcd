"""The simulator-build cache: concurrent requests for one build wait for it instead of racing it."""

import threading
import time

from sim import runner


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
