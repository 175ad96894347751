"""A fast look at a C3D file's header and parameter section before ezc3d parses it.

ezc3d trusts the file: a processor type it does not read (SGI/MIPS, big-endian), a parameter
section whose records point outside it, or a header announcing far more data than the file holds
make it fail late, slowly (tens of seconds on some vendors' files) or with a message that names
no cause. :func:`check_c3d_structure` reads the first bytes itself (the 512-byte header and the
parameter blocks only, never the data) and refuses such a file with one line naming what is wrong.

The layout (C3D.ORG, "The C3D File Format User Guide"): header word 1 = parameter block number and
the key 0x50; the parameter section starts with 4 bytes (reserved, key, number of blocks, processor
type: 84 Intel, 85 DEC, 86 MIPS), then records: ``int8`` name length (negative: locked, 0: end),
``int8`` id (negative: group, positive: parameter of that group), the name, ``int16`` offset to the
next record (counted from the offset itself; 0: last), then for a parameter ``int8`` type (-1 char,
1 byte, 2 int16, 4 float), ``uint8`` number of dimensions, the dimensions, the data and a
description; for a group a description.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from medius.errors import InvalidInputError

__all__ = ["C3DStructure", "check_c3d_structure"]

_PROCESSORS = {84: "Intel", 85: "DEC", 86: "SGI/MIPS"}


@dataclass(frozen=True)
class C3DStructure:
    """What the header and parameter section say (Intel or DEC files)."""

    processor: str
    n_points: int
    analog_per_frame: int
    first_frame: int
    last_frame: int
    scale: float
    data_block: int
    groups: dict[int, str] = field(default_factory=dict)
    #: (GROUP, PARAMETER) -> (type, dimensions, raw data bytes)
    parameters: dict[tuple[str, str], tuple[int, tuple[int, ...], bytes]] = field(default_factory=dict)

    def integer(self, group: str, name: str) -> int | None:
        """The first value of an integer (or float) parameter, or None."""
        got = self.parameters.get((group, name))
        if got is None or not got[2]:
            return None
        typ, _, raw = got
        if typ == 2 and len(raw) >= 2:
            return struct.unpack("<h", raw[:2])[0]
        if typ == 1:
            return raw[0]
        if typ == 4 and len(raw) >= 4 and self.processor == "Intel":
            v = struct.unpack("<f", raw[:4])[0]
            return int(v) if v == v and abs(v) < 2**31 else None
        return None


def _bad(path: Path, what: str) -> InvalidInputError:
    return InvalidInputError(f"not a readable C3D file: {what}", path=path)


def check_c3d_structure(path: str | Path) -> C3DStructure:
    """Check a C3D file's header and parameter section; refuse an impossible one in milliseconds.

    Raises
    ------
    InvalidInputError
        shorter than a header, no C3D key, a parameter section outside the file, an SGI/MIPS
        (big-endian) or unknown processor type, a parameter record pointing outside its section
        or with impossible dimensions, a data section starting beyond the end of the file.
    """
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(512)
        if len(head) < 512:
            raise _bad(p, f"{size} bytes, shorter than the 512-byte C3D header")
        if head[1] != 0x50:
            raise _bad(p, f"no C3D key in the header (byte 2 is 0x{head[1]:02x}, not 0x50)")
        p_block = head[0]
        if p_block < 2 or (p_block - 1) * 512 + 4 > size:
            raise _bad(p, f"the header puts the parameter section at block {p_block}, outside the {size}-byte file")
        fh.seek((p_block - 1) * 512)
        pre = fh.read(4)
        n_blocks, proc = pre[2], pre[3]
        if proc not in _PROCESSORS:
            raise _bad(p, f"unknown processor type {proc} in the parameter section (84 Intel, 85 DEC, 86 SGI/MIPS)")
        if proc == 86:
            raise _bad(
                p,
                "SGI/MIPS (big-endian) processor type, which the C3D reader does not support; "
                "re-export the trial from the capture software as an Intel (PC) C3D",
            )
        end_avail = size - (p_block - 1) * 512
        # the section's length: its own block count, or up to the data when that is further (some
        # writers count the blocks wrong)
        data_block = struct.unpack("<H", head[16:18])[0]
        n_bytes = max(n_blocks, data_block - p_block) * 512
        section = pre + fh.read(max(0, min(n_bytes, end_avail) - 4))
    processor = _PROCESSORS[proc]
    n_pts, n_analog, first, last = struct.unpack("<HHHH", head[2:10])
    scale = struct.unpack("<f", head[12:16])[0] if processor == "Intel" else float("nan")
    groups: dict[int, str] = {}
    params: dict[tuple[str, str], tuple[int, tuple[int, ...], bytes]] = {}
    pending: list[tuple[int, str, int, tuple[int, ...], bytes]] = []
    pos, n_sec = 4, len(section)
    for _ in range(100_000):
        if pos + 2 > n_sec:
            break
        nchar, ident = struct.unpack("<bb", section[pos : pos + 2])
        if nchar == 0:
            break
        name_end = pos + 2 + abs(nchar)
        if name_end + 2 > n_sec:
            raise _bad(p, f"malformed parameter section: the record at byte {pos} runs past the section's end")
        name = section[pos + 2 : name_end].decode("latin-1").strip().upper()
        (offset,) = struct.unpack("<h", section[name_end : name_end + 2])
        body = name_end + 2
        if ident < 0:
            groups[-ident] = name
        elif ident > 0:
            if body + 2 > n_sec:
                raise _bad(p, f"malformed parameter section: parameter {name!r} runs past the section's end")
            typ, ndim = struct.unpack("<bB", section[body : body + 2])
            if typ not in (-1, 1, 2, 4) or ndim > 7:
                raise _bad(p, f"malformed parameter section: parameter {name!r} has type {typ} and {ndim} dimensions")
            dims = tuple(section[body + 2 : body + 2 + ndim])
            n = abs(typ)
            for d in dims:
                n *= d
            data = section[body + 2 + ndim : body + 2 + ndim + n]
            if body + 2 + ndim + n > n_sec:
                raise _bad(p, f"malformed parameter section: the data of parameter {name!r} runs past the section's end")
            pending.append((ident, name, typ, dims, data))
        if offset == 0:
            break
        nxt = name_end + offset
        if offset < 0 or nxt <= pos or nxt > n_sec:
            raise _bad(
                p, f"malformed parameter section: the record {name!r} at byte {pos} points to byte {nxt}, "
                f"outside the {n_sec}-byte section",
            )
        pos = nxt
    for ident, name, typ, dims, data in pending:
        params[(groups.get(ident, f"#{ident}"), name)] = (typ, dims, data)
    if data_block < 1 or (data_block - 1) * 512 > size:
        raise _bad(p, f"the header puts the data at block {data_block}, beyond the end of the {size}-byte file")
    return C3DStructure(processor, n_pts, n_analog, first, last, scale, data_block, groups, params)
