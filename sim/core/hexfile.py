"""Fast bulk conversion between numpy arrays and $readmemh/$writememh files.

Simulation memories are loaded and read back through files in bulk, never
word by word through the simulator interface; these helpers keep that step
at numpy speed (a million words in well under a second).
"""

import re
from pathlib import Path

import numpy as np

_COMMENT = re.compile(rb"//[^\n]*")
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def write_hex(path, words, width: int = 32) -> None:
    """Write unsigned integers of ``width`` bits, one per line, as hex."""
    if width % 4 or width > 64:
        raise ValueError("width must be a multiple of 4 up to 64")
    values = np.ascontiguousarray(words).astype(np.uint64, copy=False).ravel()
    digits = width // 4
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (values[:, None] >> shifts) & np.uint64(0xF)
    text = np.empty((values.size, digits + 1), dtype=np.uint8)
    text[:, :digits] = _HEX_DIGITS[nibbles]
    text[:, digits] = ord("\n")
    Path(path).write_bytes(text.tobytes())


def read_hex(path, width: int = 32) -> np.ndarray:
    """Read a $writememh file (comments and @address lines skipped)."""
    dtype = np.uint32 if width <= 32 else np.uint64
    text = _COMMENT.sub(b"", Path(path).read_bytes())
    words = [w for w in text.split() if not w.startswith(b"@")]
    if not words:
        return np.zeros(0, dtype=dtype)
    if any(b"x" in w.lower() or b"z" in w.lower() for w in words):
        raise ValueError(f"{path}: memory contains X or Z values")
    return np.array([int(w, 16) for w in words], dtype=dtype)


def write_words(path, words) -> None:
    """Write (count, lanes) uint32 lanes as one wide hex word per line, lane 0 lowest."""
    words = np.ascontiguousarray(words, dtype=np.uint32)
    count, lanes = words.shape
    shifts = np.arange(7, -1, -1, dtype=np.uint32) * np.uint32(4)
    chunk = max(1, (1 << 20) // lanes)                 # bounded scratch memory for large images
    with open(path, "wb") as f:
        for start in range(0, count, chunk):
            part = words[start:start + chunk, ::-1]
            nibbles = (part[:, :, None] >> shifts) & np.uint32(0xF)     # (rows, lanes, 8)
            text = np.empty((len(part), lanes * 8 + 1), dtype=np.uint8)
            text[:, :-1] = _HEX_DIGITS[nibbles.reshape(len(part), lanes * 8)]
            text[:, -1] = ord("\n")
            f.write(text.tobytes())


def read_words(path, lanes: int) -> np.ndarray:
    """Read wide hex words written by $writememh into (count, lanes) uint32 lanes."""
    text = _COMMENT.sub(b"", Path(path).read_bytes())
    rows = [w for w in text.split() if not w.startswith(b"@")]
    if any(b"x" in w.lower() or b"z" in w.lower() for w in rows):
        raise ValueError(f"{path}: memory contains X or Z values")
    if rows and all(len(w) == 8 * lanes for w in rows):     # $writememh pads to full width
        flat = np.frombuffer(bytes.fromhex(b"".join(rows).decode()), ">u4").reshape(len(rows), lanes)
        return np.ascontiguousarray(flat[:, ::-1]).astype(np.uint32)
    out = np.zeros((len(rows), lanes), np.uint32)
    for i, w in enumerate(rows):
        value = int(w, 16)
        for lane in range(lanes):
            out[i, lane] = (value >> (32 * lane)) & 0xFFFFFFFF
    return out
