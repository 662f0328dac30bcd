"""Energy tables: data files with a source for every figure, and their loader.

    table = load_table("aladdin-40nm")          # shipped: aladdin-40nm, horowitz-45nm
    table = load_table("my-tech.json")          # or a user's own file
    table.figure("fp32_mul_pj")                  # 24.35
    table.sram_access_pj(32 * 1024, 128, "read") # one 128-bit read of a 32 KiB scratchpad

A table (schema ``pp-energy-table/1``) has ``figures`` (each
``{"value", "unit", "source"}``, optionally ``"assumption": true`` or
``"borrowed_from": NAME``), a list of ``sram`` entries (size, width, read
and write energy per access, source) and ``dram``: the name of a shipped DRAM
table, a path (relative to the table file), or an inline DRAM table (schema
``pp-dram-table/1``).  Anything missing or malformed raises
:class:`EnergyTableError` naming the file and the field.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

TABLE_DIR = Path(__file__).resolve().parent / "tables"
SHIPPED = ("aladdin-40nm", "horowitz-45nm")
TABLE_SCHEMA = "pp-energy-table/1"
DRAM_SCHEMA = "pp-dram-table/1"

# Every compute table must give these figures (value >= 0).
REQUIRED_FIGURES = (
    "fp32_mul_pj", "fp32_add_pj", "fp_reference_operand_toggles",
    "flop_clock_fj", "register_toggle_fj", "wire_toggle_fj",
    "leakage_fp32_mul_uw", "leakage_fp32_add_uw", "leakage_flop_uw", "leakage_sram_uw_per_kib",
)
REQUIRED_DRAM_FIGURES = (
    "read_pj_per_bit", "write_pj_per_bit", "activate_precharge_nj", "background_w_per_rank",
    "ranks", "row_bytes", "burst_bytes",
)
POSITIVE = {"fp_reference_operand_toggles", "ranks", "row_bytes", "burst_bytes"}


class EnergyTableError(ValueError):
    """An energy table is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    source: str
    assumption: bool = False
    borrowed_from: str | None = None


@dataclass(frozen=True)
class SramEntry:
    size_bytes: int
    width_bits: int
    read_pj: float
    write_pj: float
    source: str


@dataclass(frozen=True)
class DramTable:
    name: str
    path: str
    figures: dict

    def figure(self, name: str) -> float:
        return self.figures[name].value


@dataclass(frozen=True)
class EnergyTable:
    name: str
    path: str
    description: str
    figures: dict
    sram: tuple
    dram: DramTable
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    def figure(self, name: str) -> float:
        return self.figures[name].value

    def sram_access_pj(self, size_bytes: float, width_bits: float, kind: str = "read") -> float:
        """Energy of one ``kind`` ("read"/"write") access of ``width_bits`` to a ``size_bytes`` SRAM.

        Interpolated log-log in size between the table's entries (extrapolated
        along the first or last segment) and scaled linearly with width.
        """
        if kind not in ("read", "write"):
            raise ValueError(f"kind must be 'read' or 'write', not {kind!r}")
        if size_bytes <= 0 or width_bits <= 0:
            raise ValueError("SRAM size and width must be positive")
        points = sorted((e.size_bytes, (e.read_pj if kind == "read" else e.write_pj) / e.width_bits)
                        for e in self.sram)
        if len(points) == 1:
            per_bit = points[0][1]
        else:
            lo, hi = points[0], points[1]
            for a, b in zip(points, points[1:]):
                lo, hi = a, b
                if size_bytes <= b[0]:
                    break
            x0, x1 = math.log(lo[0]), math.log(hi[0])
            y0, y1 = math.log(lo[1]), math.log(hi[1])
            t = (math.log(size_bytes) - x0) / (x1 - x0)
            per_bit = math.exp(y0 + t * (y1 - y0))
        return per_bit * width_bits

    def provenance(self) -> dict:
        """Every figure with its source, for reports."""
        out = {name: {"value": f.value, "unit": f.unit, "source": f.source,
                      **({"assumption": True} if f.assumption else {}),
                      **({"borrowed_from": f.borrowed_from} if f.borrowed_from else {})}
               for name, f in self.figures.items()}
        out["sram"] = [asdict(e) for e in self.sram]
        out["dram"] = {"name": self.dram.name,
                       **{n: {"value": f.value, "unit": f.unit, "source": f.source}
                          for n, f in self.dram.figures.items()}}
        return out


def _fail(path, field_name, problem):
    raise EnergyTableError(f"{path}: field '{field_name}': {problem}")


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise EnergyTableError(f"{path}: energy table file not found")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise EnergyTableError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise EnergyTableError(f"{path}: the top level must be a JSON object")
    return data


def _number(path, name, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(path, name, f"must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        _fail(path, name, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def _source(path, name, value):
    if not isinstance(value, str) or not value.strip():
        _fail(path, name, "needs a non-empty 'source' string saying where the number comes from")
    return value


def _figures(path, data, required) -> dict:
    figs = data.get("figures")
    if not isinstance(figs, dict):
        _fail(path, "figures", "missing or not an object")
    out = {}
    for name in required:
        if name not in figs:
            _fail(path, f"figures.{name}", "missing")
    for name, entry in figs.items():
        where = f"figures.{name}"
        if not isinstance(entry, dict):
            _fail(path, where, "must be an object with 'value', 'unit' and 'source'")
        if "value" not in entry:
            _fail(path, f"{where}.value", "missing")
        value = _number(path, f"{where}.value", entry["value"], positive=name in POSITIVE)
        source = _source(path, f"{where}.source", entry.get("source"))
        unit = entry.get("unit", "")
        if not isinstance(unit, str):
            _fail(path, f"{where}.unit", "must be a string")
        borrowed = entry.get("borrowed_from")
        if borrowed is not None and not isinstance(borrowed, str):
            _fail(path, f"{where}.borrowed_from", "must be a table name")
        out[name] = Figure(value, unit, source, bool(entry.get("assumption", False)), borrowed)
    return out


def _check_schema(path, data, schema):
    if data.get("schema") != schema:
        _fail(path, "schema", f"must be {schema!r}, got {data.get('schema')!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        _fail(path, "name", "missing or not a non-empty string")
    return name


def _dram_from(path, data) -> DramTable:
    name = _check_schema(path, data, DRAM_SCHEMA)
    return DramTable(name, str(path), _figures(path, data, REQUIRED_DRAM_FIGURES))


def _resolve(name_or_path, relative_to: Path | None = None) -> Path:
    text = str(name_or_path)
    shipped = TABLE_DIR / f"{text}.json"
    if "/" not in text and not text.endswith(".json") and shipped.exists():
        return shipped
    path = Path(text)
    if not path.is_absolute() and relative_to is not None and not path.exists():
        path = relative_to / path
    return path


def load_table(name_or_path) -> EnergyTable:
    """Load a shipped table by name (``aladdin-40nm``, ``horowitz-45nm``) or a JSON file."""
    path = _resolve(name_or_path)
    if not path.exists():
        raise EnergyTableError(f"{path}: energy table file not found (shipped tables: {', '.join(SHIPPED)})")
    data = _read_json(path)
    name = _check_schema(path, data, TABLE_SCHEMA)
    figures = _figures(path, data, REQUIRED_FIGURES)
    entries = data.get("sram")
    if not isinstance(entries, list) or not entries:
        _fail(path, "sram", "missing or not a non-empty list of SRAM entries")
    sram = []
    for i, entry in enumerate(entries):
        where = f"sram[{i}]"
        if not isinstance(entry, dict):
            _fail(path, where, "must be an object")
        for key in ("size_bytes", "width_bits", "read_pj", "write_pj"):
            if key not in entry:
                _fail(path, f"{where}.{key}", "missing")
        sram.append(SramEntry(
            int(_number(path, f"{where}.size_bytes", entry["size_bytes"], positive=True)),
            int(_number(path, f"{where}.width_bits", entry["width_bits"], positive=True)),
            _number(path, f"{where}.read_pj", entry["read_pj"], positive=True),
            _number(path, f"{where}.write_pj", entry["write_pj"], positive=True),
            _source(path, f"{where}.source", entry.get("source"))))
    if len({e.size_bytes for e in sram}) != len(sram):
        _fail(path, "sram", "two entries have the same size_bytes")
    dram_spec = data.get("dram")
    if isinstance(dram_spec, dict):
        dram = _dram_from(f"{path} (inline dram)", dram_spec)
    elif isinstance(dram_spec, str) and dram_spec:
        dram_path = _resolve(dram_spec, relative_to=path.parent)
        try:
            dram = _dram_from(dram_path, _read_json(dram_path))
        except EnergyTableError as exc:
            raise EnergyTableError(f"{path}: field 'dram' ({dram_spec!r}): {exc}") from None
    else:
        _fail(path, "dram", "missing: name a DRAM table (e.g. 'ddr3-1600'), a file, or give one inline")
    description = data.get("description", "")
    return EnergyTable(name, str(path), description if isinstance(description, str) else "",
                       figures, tuple(sram), dram, data)


def shipped_tables() -> list[str]:
    return list(SHIPPED)
