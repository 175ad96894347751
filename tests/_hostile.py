"""Hostile inputs shared by the tests and ``benchmarks/redteam.py``: seeded C3D header mutations."""

from __future__ import annotations

import random
from pathlib import Path

UQAM_C3D = Path(__file__).parent / "data" / "uqam" / "gait-lower-body.c3d"
#: byte 929 set to 0xff (the type field of FORCE_PLATFORM:USED): ezc3d 1.5 crashes with SIGSEGV
CRASH_OFFSET, CRASH_VALUE = 929, 0xFF


def byte929_c3d(dest: Path) -> Path:
    """The UQAM walking trial with byte 929 set to 0xff (crashed the process before medius.isolated)."""
    data = bytearray(UQAM_C3D.read_bytes())
    data[CRASH_OFFSET] = CRASH_VALUE
    dest.write_bytes(bytes(data))
    return dest


#: the values fuzzers favour: sign and size boundaries
_EDGE = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def c3d_header_mutations(seed: int, n: int, *, span: int = 1024) -> list[tuple[int, int, bytes]]:
    """``n`` copies of the UQAM trial, each with 1-3 bytes of its first ``span`` bytes (the header
    and the parameter section) replaced (mostly by boundary values 0x00/0x01/0x7f/0x80/0xfe/0xff, else random): ``(offset, value, data)``, seeded."""
    rng = random.Random(seed)
    base = UQAM_C3D.read_bytes()
    out = []
    for _ in range(n):
        data = bytearray(base)
        first = None
        for _ in range(rng.randint(1, 3)):
            offset = rng.randrange(span)
            value = rng.choice(_EDGE) if rng.random() < 0.7 else rng.randrange(256)
            data[offset] = value
            first = (offset, value) if first is None else first
        assert first is not None
        out.append((first[0], first[1], bytes(data)))
    return out
