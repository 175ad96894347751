"""Parsers of untrusted files run in a child process (medius.isolated): a file that crashes the
native parser (ezc3d's segmentation fault on a malformed C3D) is an invalid input, exit code 4,
one line naming the file, nothing written; never a dead process."""

from __future__ import annotations

import os
import sys

import pytest

from medius.errors import InputNotFoundError, InvalidInputError, MediusError
from medius.io.force_plates import read_c3d_trial
from medius.io.markers import read_c3d
from medius.isolated import run_isolated
from tests._hostile import UQAM_C3D, byte929_c3d, c3d_header_mutations
from tests.conftest import run_medius
from tests.test_cli_errors import assert_clean, one_line_error

#: seed 12, 30 mutations: 5 of them crash ezc3d 1.5 with SIGSEGV when parsed in place
FUZZ_SEED, FUZZ_N = 12, 30


def test_byte929_c3d_is_invalid_input_not_a_crash(tmp_path):
    bad = byte929_c3d(tmp_path / "bad929.c3d")
    with pytest.raises(InvalidInputError) as err:
        read_c3d(bad)
    assert "bad929.c3d" in str(err.value) and "crashed" in str(err.value) and "SIGSEGV" in str(err.value)
    with pytest.raises(InvalidInputError):
        read_c3d_trial(bad)


def test_byte929_c3d_on_the_cli_exits_4_with_one_line(tmp_path):
    bad = byte929_c3d(tmp_path / "bad929.c3d")
    out = tmp_path / "out"
    line = one_line_error(run_medius("analyze", bad, "--task", "walk", "--out", out), 4, "bad929.c3d")
    assert "not a readable C3D file" in line
    assert_clean(out, tmp_path)


def test_valid_c3d_reads_the_same_isolated_and_in_place(monkeypatch):
    m1, p1 = read_c3d_trial(UQAM_C3D)
    monkeypatch.setenv("MEDIUS_ISOLATE", "0")
    m0, p0 = read_c3d_trial(UQAM_C3D)
    assert m1.labels == m0.labels and m1.n_frames == m0.n_frames == 474
    assert (m1.position == m0.position)[~(m0.position != m0.position)].all()
    assert m1.events == m0.events and m1.subject == m0.subject and len(p1) == len(p0)


def test_seeded_fuzz_of_c3d_headers_never_crashes(tmp_path):
    outcomes = {"read": 0, "invalid": 0}
    for i, (offset, value, data) in enumerate(c3d_header_mutations(FUZZ_SEED, FUZZ_N)):
        path = tmp_path / f"m{i:02d}.c3d"
        path.write_bytes(data)
        try:
            read_c3d_trial(path)
        except InvalidInputError as exc:
            assert path.name in str(exc) and "\n" not in str(exc), (offset, value, str(exc))
            outcomes["invalid"] += 1
        except MediusError as exc:  # pragma: no cover - the message says which
            pytest.fail(f"mutation {i} (byte {offset} = {value:#x}): {type(exc).__name__}: {exc}")
        else:
            outcomes["read"] += 1
    # the crashing mutations among them are invalid inputs now (5 crash ezc3d when run in place)
    assert outcomes["invalid"] >= 5 and outcomes["read"] + outcomes["invalid"] == FUZZ_N


def test_errors_raised_in_the_child_come_back_with_their_class(tmp_path):
    with pytest.raises(InputNotFoundError) as err:
        read_c3d(tmp_path / "nope.c3d")
    assert "nope.c3d" in str(err.value)
    text = tmp_path / "x.c3d"
    text.write_text("hello")
    with pytest.raises(InvalidInputError, match="not a readable C3D file"):
        read_c3d(text)


def test_timeout_memory_and_foreign_exceptions_become_invalid_input(tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="took longer than 0.5 s"):
        run_isolated("time:sleep", 30, path=f, what="test", timeout_s=0.5)
    with pytest.raises(InvalidInputError, match="needs more than 300 MB"):
        run_isolated("builtins:bytearray", 2 * 1024**3, path=f, what="test", memory_mb=300)
    with pytest.raises(InvalidInputError, match=r"not a readable test file \(ValueError: "):
        run_isolated("builtins:int", "12x", path=f, what="test")
    with pytest.raises(InvalidInputError, match="crashed on it \\(SIGABRT\\)"):
        run_isolated("os:abort", path=f, what="test")
    assert run_isolated("builtins:sum", [1, 2, 3], path=f, what="test") == 6


def test_runs_in_place_inside_an_isolated_child(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIUS_ISOLATED", "1")
    assert run_isolated("os:getpid", path=tmp_path, what="test") == os.getpid()
    assert sys.executable
