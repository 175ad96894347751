"""Run a parser of an untrusted file in a child process, so that a native crash cannot take the caller down.

Readers written in C or C++ (ezc3d for C3D, FFmpeg through PyAV for video) can crash the whole
process on a malformed file (a segmentation fault is not a Python exception). :func:`run_isolated`
calls ``module:function(*args)`` in a fresh ``python -m medius.isolated`` child and returns what it
returns (pickled back through a pipe). In the parent:

* the child killed by a signal (a crash), running past ``timeout_s`` or over its memory cap, or
  raising anything that is not a :class:`~medius.errors.MediusError` becomes an
  :class:`~medius.errors.InvalidInputError` with one line naming the file;
* a :class:`~medius.errors.MediusError` raised in the child is raised again, same class and message.

The child gets ``MEDIUS_ISOLATED=1``, so a reader called inside it (a C3D read within an isolated
content check) runs in place instead of starting a grandchild. ``MEDIUS_ISOLATE=0`` runs everything
in place (debugging only). The isolation is against crashes and runaway memory or time, not a
sandbox: the child runs medius' own code as the same user.

Settings (environment): ``MEDIUS_PARSE_TIMEOUT_S`` (default 120), ``MEDIUS_PARSE_MEMORY_MB``
(address-space cap of the child, default 4096).
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from medius import errors

__all__ = ["ISOLATED_ENV", "c3d_contents", "parse_memory_mb", "parse_timeout_s", "run_isolated"]

#: set in the child: readers called there run in place
ISOLATED_ENV = "MEDIUS_ISOLATED"
_STDERR_KEEP = 4000


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def parse_timeout_s() -> float:
    """Longest a child parse may run (``MEDIUS_PARSE_TIMEOUT_S``, seconds; default 120)."""
    return _env_number("MEDIUS_PARSE_TIMEOUT_S", 120.0)


def parse_memory_mb() -> int:
    """Address-space cap of a child parse (``MEDIUS_PARSE_MEMORY_MB``; default 4096)."""
    return int(_env_number("MEDIUS_PARSE_MEMORY_MB", 4096.0))


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def run_isolated(
    target: str,
    *args: Any,
    path: str | Path,
    what: str,
    timeout_s: float | None = None,
    memory_mb: int | None = None,
) -> Any:
    """``module:function(*args)`` run in a child process; its return value.

    Parameters
    ----------
    target
        ``"package.module:function"``; the function and its arguments and result must pickle.
    path
        the file being read, named in every error message.
    what
        what the file should be (``"C3D"``, ``"video"``), for the messages.
    timeout_s, memory_mb
        limits of the child (default :func:`parse_timeout_s`, :func:`parse_memory_mb`).

    Raises
    ------
    InvalidInputError
        the child crashed, timed out, ran out of memory or raised a non-medius exception.
    MediusError
        the error the child raised (same class and message).
    """
    if os.environ.get(ISOLATED_ENV) == "1" or os.environ.get("MEDIUS_ISOLATE", "1") == "0":
        return _call(target, args)
    p = Path(path)
    timeout = parse_timeout_s() if timeout_s is None else timeout_s
    memory = parse_memory_mb() if memory_mb is None else memory_mb
    env = {
        **os.environ,
        ISOLATED_ENV: "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MEDIUS_PARSE_MEMORY_MB": str(memory),
    }
    payload = pickle.dumps((target, args), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "medius.isolated"],
            input=payload,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise errors.InvalidInputError(
            f"reading the {what} file took longer than {timeout:g} s (MEDIUS_PARSE_TIMEOUT_S); "
            "it is corrupt or too large",
            path=p,
        ) from None
    if proc.returncode < 0:
        raise errors.InvalidInputError(
            f"not a readable {what} file: the reader crashed on it ({_signal_name(proc.returncode)}); "
            "the file is corrupt or malformed",
            path=p,
        )
    try:
        status, *rest = pickle.loads(proc.stdout)
    except Exception:
        lines = proc.stderr.decode("utf-8", "replace")[-_STDERR_KEEP:].strip().splitlines()
        tail = _one_line(lines[-1]) if lines else ""
        raise errors.InvalidInputError(
            f"not a readable {what} file: the reader stopped (exit code {proc.returncode}"
            + (f": {tail}" if tail else "")
            + ")",
            path=p,
        ) from None
    if status == "ok":
        return rest[0]
    cls_name, message, err_path = rest
    if cls_name == "MemoryError":
        raise errors.InvalidInputError(
            f"the {what} file needs more than {memory} MB to read (MEDIUS_PARSE_MEMORY_MB); "
            "it is corrupt or too large",
            path=p,
        )
    cls = getattr(errors, cls_name, None)
    if isinstance(cls, type) and issubclass(cls, errors.MediusError):
        raise cls(message, path=err_path)
    raise errors.InvalidInputError(
        f"not a readable {what} file ({cls_name}: {_one_line(message)})",
        path=p,
    )


def _call(target: str, args: tuple[Any, ...]) -> Any:
    module_name, _, func_name = target.partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return func(*args)


def _plain(value: Any) -> Any:
    """ezc3d's mappers as plain dicts (they pickle; the readers only subscript them)."""
    storage = getattr(value, "_storage", None)
    if storage is not None:
        value = storage
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def c3d_contents(path: str) -> dict[str, Any]:
    """``ezc3d.c3d(path)`` as plain dicts ``{"header", "parameters", "data"}`` (run it isolated)."""
    import ezc3d

    try:
        c3d = ezc3d.c3d(path)
    except Exception as exc:  # ezc3d raises OSError/RuntimeError/... for anything malformed
        detail = str(exc).split(":")[0].strip() or type(exc).__name__
        raise errors.InvalidInputError(f"not a readable C3D file ({_one_line(detail)})", path=path) from None
    return {key: _plain(c3d[key]) for key in ("header", "parameters", "data")}


def _limit_memory(mb: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    limit = mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child() -> int:
    """The child: read ``(target, args)`` pickled on stdin, write ``("ok", value)`` or an error."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the answer
    target, args = pickle.loads(sys.stdin.buffer.read())
    module_name = target.partition(":")[0]
    importlib.import_module(module_name)  # imports before the cap: they map shared libraries
    _limit_memory(parse_memory_mb())
    try:
        answer: tuple[Any, ...] = ("ok", _call(target, args))
    except errors.MediusError as exc:
        answer = ("error", type(exc).__name__, exc.message, None if exc.path is None else str(exc.path))
    except MemoryError:
        answer = ("error", "MemoryError", "", None)
    except BaseException as exc:  # any other failure of a parser is the input's fault here
        answer = ("error", type(exc).__name__, str(exc)[:1000], None)
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        data = pickle.dumps(("error", type(exc).__name__, f"result could not be returned: {exc}", None))
    out.write(data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
