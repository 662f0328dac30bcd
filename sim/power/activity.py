"""Toggle counts from the simulators: Verilator's coverage.dat and Icarus's VCD.

Both readers return a list of :class:`SignalToggles`, one per signal (all its
bits summed): where it lives (hierarchy, and the module when the file says),
its name, how many bits were seen, and the toggles (0->1 plus 1->0).

**Verilator** ``--coverage-toggle`` writes ``coverage.dat``: a
``# SystemC::Coverage-3`` header, then one line per coverage point,
``C '<\\x01key\\x02value>...' count``, with keys ``f`` (file), ``l`` (line),
``n`` (column), ``t`` (type, ``toggle``), ``page`` (``v_toggle/<module>``),
``o`` (the point) and ``h`` (hierarchy).  Two toggle formats exist:

* up to Verilator 5.036: ``o`` is ``signal[bit]`` and the count is every
  change of that bit, both directions;
* from 5.038 (this project's 5.048 wheel): two points per bit,
  ``signal[bit]:0->1`` and ``signal[bit]:1->0``.

Counts are summed over every instance of a module (the file carries one
hierarchy per module, not per instance).  Verilator mangles names that are
not C identifiers (Amaranth's ``$1000`` becomes ``__0241000``; a module
``pp_accel_pe.mul`` becomes ``pp_accel_pe__DOT__mul``); the reader decodes
them back to the Verilog names.

**Icarus** writes a VCD through ``$dumpvars``; :func:`read_vcd` tokenizes it
with pyvcd and counts, per variable and bit, the changes between known 0 and
1 values.  Icarus starts
registers at X where Verilator (2-state) starts them at 0; with
``x_as_zero=True`` (the default) X and Z read as 0, which is exactly
Verilator's view, so the two readers agree bit for bit on a design whose
registers are initialised (see tests/test_power_sim.py).
"""

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vcd import reader as vcd_reader
from vcd.common import VarType
from vcd.reader import TokenKind


class CoverageFileError(ValueError):
    """A coverage or VCD file is missing or malformed; the message names the file and line."""


@dataclass
class SignalToggles:
    hier: str               # hierarchy of the instance holding the signal (dotted)
    module: str | None      # its module, where the file says (Verilator); None for VCD
    signal: str             # signal name, Verilog spelling (``$1000``, ``a``)
    bits: int               # bits seen
    toggles: int            # 0->1 plus 1->0, all bits
    rises: int | None = None
    falls: int | None = None
    saw_x: bool | None = None   # VCD only: the signal held X or Z at some point (usually before reset)

    @property
    def path(self) -> str:
        return f"{self.hier}.{self.signal}" if self.hier else self.signal


# ---------------------------------------------------------------- Verilator

_MANGLED = re.compile(r"__0([0-9A-Fa-f]{2})")
_DIRECTION = re.compile(r":([01])->([01])$")
_BIT = re.compile(r"^(.*?)((?:\[\d+\])*)$")


def demangle(name: str) -> str:
    """Verilator's C-safe name -> the Verilog name (``__024`` -> ``$``, ``__DOT__`` -> ``.``)."""
    if "__" not in name:
        return name
    name = name.replace("__DOT__", ".")
    return _MANGLED.sub(lambda m: chr(int(m.group(1), 16)), name)


def _split_point(point: str):
    """``sig[3]:0->1`` -> (``sig``, "3", "01"); ``mem[2][5]`` -> (``mem[2]``, "5", None)."""
    direction = None
    m = _DIRECTION.search(point)
    if m:
        direction = m.group(1) + m.group(2)
        point = point[:m.start()]
    m = _BIT.match(point)
    base, index = m.group(1), m.group(2)
    if index:
        last = index.rfind("[")
        return base + index[:last], index[last + 1:-1], direction
    return base, "", direction


def is_simulation_artifact(name: str) -> bool:
    """Yosys's time-0 wake-up register of ``always @*`` blocks (``$auto$verilog_backend...``):
    not hardware, and it rises once on Icarus (sim/core/runner.py's time-0 fix), never on Verilator."""
    return name.startswith("$auto$verilog_backend")


def read_coverage(path) -> list[SignalToggles]:
    """Parse a Verilator ``coverage.dat`` (either toggle format) into per-signal toggles.

    Non-toggle points (line, branch, user coverage) are ignored.  Raises
    :class:`CoverageFileError` naming the file and line on anything malformed.
    """
    path = Path(path)
    if not path.exists():
        raise CoverageFileError(f"{path}: coverage file not found (was the model built with "
                                f"--coverage-toggle, and did the simulation finish?)")
    acc = {}
    bits_seen = defaultdict(set)
    saw_toggle_or_header = False
    with open(path, "r", encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                if lineno == 1 and "Coverage" in line:
                    saw_toggle_or_header = True
                continue
            if not line.startswith("C '"):
                raise CoverageFileError(f"{path}:{lineno}: expected a coverage point "
                                        f"\"C '<keys>' <count>\", got {line[:60]!r}")
            end = line.rfind("' ")
            if end < 3:
                raise CoverageFileError(f"{path}:{lineno}: coverage point has no count after the quoted keys")
            body, count_text = line[3:end], line[end + 2:].strip()
            if not count_text.isdigit():
                raise CoverageFileError(f"{path}:{lineno}: field 'count': not a non-negative integer: {count_text!r}")
            fields = {}
            for part in body.split("\x01")[1:]:
                key, sep, value = part.partition("\x02")
                if not sep:
                    raise CoverageFileError(f"{path}:{lineno}: field {key!r}: no \\x02 separator between key and value")
                fields[key] = value
            if not fields:
                raise CoverageFileError(f"{path}:{lineno}: no \\x01key\\x02value fields in the coverage point")
            page = fields.get("page", "")
            if fields.get("t") != "toggle" and not page.startswith("v_toggle"):
                continue
            saw_toggle_or_header = True
            for key in ("o", "h"):
                if key not in fields:
                    raise CoverageFileError(f"{path}:{lineno}: field {key!r} missing from a toggle point")
            module = demangle(page.split("/", 1)[1]) if "/" in page else None
            name, bit, direction = _split_point(fields["o"])
            key = (fields["h"], module, demangle(name))
            entry = acc.get(key)
            if entry is None:
                entry = acc[key] = [0, 0, 0, direction is not None]
            count = int(count_text)
            entry[0] += count
            if direction == "01":
                entry[1] += count
            elif direction == "10":
                entry[2] += count
            else:
                entry[3] = False
            bits_seen[key].add(bit)
    if acc == {} and not saw_toggle_or_header:
        raise CoverageFileError(f"{path}: no toggle coverage points and no coverage header; "
                                f"not a Verilator coverage.dat built with --coverage-toggle")
    out = []
    for (hier, module, name), (toggles, rises, falls, directional) in acc.items():
        if is_simulation_artifact(name):
            continue
        out.append(SignalToggles(hier, module, name, len(bits_seen[(hier, module, name)]), toggles,
                                 rises if directional else None, falls if directional else None))
    return out


# ---------------------------------------------------------------- VCD

_XZ_TO_ZERO = str.maketrans("xXzZ", "0000")
_XZ_TO_ONE = str.maketrans("01xXzZ", "001111")


def read_vcd(path, *, scope: str | None = None, x_as_zero: bool = True) -> list[SignalToggles]:
    """Count bit toggles per variable in a VCD (Icarus ``$dumpvars``), streaming.

    pyvcd's tokenizer reads the file; this function only counts.  ``scope``
    (dotted, e.g. ``fp_stream_tb.dut``) keeps only variables at or below it.
    Each bit's changes between 0 and 1 are counted; with ``x_as_zero`` X/Z
    read as 0 (Verilator's 2-state view, so an X->1 initialisation counts as a
    rise, as it does there); otherwise changes to or from X/Z are not counted.
    Values inside ``$dumpoff`` sections are ignored.  Raises
    :class:`CoverageFileError` naming the file and line on anything malformed,
    a file cut short inside its last value change included.
    """
    path = Path(path)
    if not path.exists():
        raise CoverageFileError(f"{path}: VCD file not found")
    with open(path, "rb") as fh:
        stream = _EndMarked(fh)
        tokens = vcd_reader.tokenize(stream)
        counter = _ToggleCounter(x_as_zero)
        try:
            vars_by_id = _vcd_variables(tokens, path, scope)
            counter.count(tokens, vars_by_id)
        except vcd_reader.VCDParseError as exc:
            if exc.loc.line <= stream.lines:     # beyond: in the end marker, after a token cut short
                message = str(exc).split(": ", 1)[-1]
                raise CoverageFileError(f"{path}:{exc.loc.line}: malformed VCD: {message}") from None
    if not counter.saw_end:
        raise CoverageFileError(f"{path}:{stream.lines}: malformed VCD: the file ends inside "
                                f"a value change or command (truncated?)")
    out = []
    for ident, refs in vars_by_id.items():
        for hier, name, width in refs:
            if is_simulation_artifact(name):
                continue
            r, f = counter.rises.get(ident, 0), counter.falls.get(ident, 0)
            out.append(SignalToggles(hier, None, name, width, r + f, r, f, ident in counter.saw_x))
    return out


_END_MARK = "read_vcd: end of file"


class _EndMarked(io.RawIOBase):
    """The file, then ``$comment <_END_MARK> $end`` on a line of its own.

    pyvcd's tokenizer drops a token cut short by the end of the stream
    without a word; after this marker such a token is an error (or swallows
    the marker), so :func:`read_vcd` can tell a truncated file.  ``lines``
    counts the file's own lines."""

    def __init__(self, fh):
        self.fh = fh
        self.tail = f"\n$comment {_END_MARK} $end\n".encode()
        self.lines = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.fh.readinto(buf)
        if n:
            self.lines += buf.count(b"\n", 0, n)      # pyvcd passes a bytearray
            return n
        n = min(len(buf), len(self.tail))
        buf[:n] = self.tail[:n]
        self.tail = self.tail[n:]
        return n


def _is_end_mark(token) -> bool:
    return token.kind is TokenKind.COMMENT and token.data == _END_MARK


def _bad_value(token, exc: ValueError) -> vcd_reader.VCDParseError:
    """pyvcd raises a bare ValueError on a value with no digits (``b !``) or a non-ASCII one."""
    line = token.span.end.line if token is not None else 1
    return vcd_reader.VCDParseError(vcd_reader.Location(line, 0), f"bad value or name ({exc})")


def _vcd_variables(tokens, path: Path, scope: str | None) -> dict:
    """Read the header up to ``$enddefinitions``: id code -> [(hierarchy, name, width)]
    for every non-real variable at or below ``scope`` (one id may name several)."""
    scope_parts = scope.split(".") if scope else []
    stack, vars_by_id, line, token = [], defaultdict(list), 0, None
    try:
        for token in tokens:
            if _is_end_mark(token):
                break
            line = token.span.start.line
            if token.kind is TokenKind.SCOPE:
                stack.append(token.data.ident)
            elif token.kind is TokenKind.UPSCOPE:
                if not stack:
                    raise CoverageFileError(f"{path}:{line}: $upscope without an open $scope")
                stack.pop()
            elif token.kind is TokenKind.VAR:
                var = token.data
                if stack[:len(scope_parts)] == scope_parts and var.type_ is not VarType.real:
                    vars_by_id[var.id_code].append((".".join(stack), var.reference, var.size))
            elif token.kind is TokenKind.ENDDEFINITIONS:
                if scope and not vars_by_id:
                    raise CoverageFileError(f"{path}: no variables under scope {scope!r}")
                return vars_by_id
    except CoverageFileError:
        raise
    except ValueError as exc:
        raise _bad_value(token, exc) from None
    raise CoverageFileError(f"{path}:{line}: no $enddefinitions: not a VCD, or truncated in the header")


class _ToggleCounter:
    """Rises and falls per id code over the value changes after the header."""

    def __init__(self, x_as_zero: bool):
        self.x_as_zero = x_as_zero
        self.rises = defaultdict(int)
        self.falls = defaultdict(int)
        self.saw_x = set()
        self.saw_end = False        # reached _EndMarked's marker: the file was not cut short
        self.value = {}             # id -> int (X/Z as 0)
        self.known = {}             # id -> mask of 0/1 bits (only without x_as_zero)

    def count(self, tokens, vars_by_id) -> None:
        dumpoff, token = False, None
        try:
            for token in tokens:
                kind = token.kind
                if kind is TokenKind.CHANGE_SCALAR or kind is TokenKind.CHANGE_VECTOR:
                    ident, value = token.data
                    if ident in vars_by_id and not dumpoff:
                        self.change(ident, value)
                elif kind is TokenKind.DUMPOFF:
                    dumpoff = True
                elif kind is TokenKind.DUMPON:
                    dumpoff = False
                elif kind is TokenKind.COMMENT and token.data == _END_MARK:
                    self.saw_end = True
                # times, $dumpvars/$dumpall/$end, real and string changes: nothing to count
        except ValueError as exc:
            raise _bad_value(token, exc) from None

    def change(self, ident: str, value) -> None:
        """One value change: an int (pyvcd's all-0/1 vector) or a 4-state string."""
        if isinstance(value, int):
            new, new_known = value, -1
        elif value in ("0", "1"):
            new, new_known = int(value), -1
        else:
            self.saw_x.add(ident)
            new, new_known = int(value.translate(_XZ_TO_ZERO), 2), -1
            if not self.x_as_zero:
                unknown = int(value.translate(_XZ_TO_ONE), 2)
                if value[0] not in "01":      # VCD left-extends with x/z: the upper bits are unknown too
                    unknown |= -1 << len(value)
                new_known = ~unknown
        old = self.value.get(ident)
        if old is not None:
            diff = old ^ new
            if diff:
                if not self.x_as_zero:
                    diff &= self.known[ident] & new_known
                self.rises[ident] += (diff & new).bit_count()
                self.falls[ident] += (diff & old).bit_count()
        elif self.x_as_zero and new:
            self.rises[ident] += new.bit_count()   # from Verilator's initial 0
        self.value[ident] = new
        if not self.x_as_zero:
            self.known[ident] = new_known
