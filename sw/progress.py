"""A progress bar: tqdm when it is installed, else a small stand-in with the same
subset of its interface (update, set_postfix, context manager). Like tqdm with
disable=None, it only draws on a terminal, so logs and tests stay clean."""

from __future__ import annotations

import sys
import time

try:  # pragma: no cover - depends on the environment
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover
    _tqdm = None


class _Bar:
    def __init__(self, total: int, desc: str = "", unit: str = "it", **_):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.postfix = ""
        self.enabled = sys.stderr.isatty()
        self.start = self.last = time.monotonic()

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.monotonic()
        if self.enabled and (now - self.last > 0.2 or self.n >= self.total):
            self.last = now
            rate = self.n / max(now - self.start, 1e-9)
            sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total} {self.unit} "
                             f"({rate:.0f} {self.unit}/s) {self.postfix}   ")
            sys.stderr.flush()

    def set_postfix(self, **kw) -> None:
        self.postfix = " ".join(f"{k}={v}" for k, v in kw.items())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.enabled:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def bar(total: int, desc: str = "", unit: str = "it"):
    """A progress bar over `total` steps, drawn only on a terminal."""
    if _tqdm is not None:
        return _tqdm(total=total, desc=desc, unit=unit, leave=False, disable=None)
    return _Bar(total, desc, unit)
