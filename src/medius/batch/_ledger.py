"""The batch ledger: an append-only JSON-lines file in the output folder that says what is done.

Only the driver (the ``medius batch`` process) writes it, one whole line per finished item, with a
single ``write`` on a file opened for appending, then ``fsync``: a crash can at worst cut the last
line short, and :meth:`Ledger.read` ignores such a line (that item simply runs again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medius.errors import OutputError

__all__ = ["DONE_STATUSES", "LEDGER_NAME", "Ledger"]

LEDGER_NAME = "ledger.jsonl"
#: item statuses that count as done (a capture that cannot be judged is a legitimate outcome)
DONE_STATUSES = ("ok", "not_judgeable")


class Ledger:
    """The ledger file of a batch output folder."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LEDGER_NAME

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as one line (atomic for the reader: whole line or ignored)."""
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write the batch ledger ({exc.strerror or exc})", path=self.path) from None

    def read(self) -> Iterator[dict[str, Any]]:
        """Every complete record, in the order written."""
        if not self.path.is_file():
            return
        with open(self.path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a line cut short by a crash
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    yield rec

    def latest(self) -> dict[str, dict[str, Any]]:
        """The latest item record for each item key (items that share a key: see :meth:`latest_items`)."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.read():
            if rec.get("event") == "item" and isinstance(rec.get("key"), str):
                out[rec["key"]] = rec
        return out

    def latest_items(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The latest item record for each (item key, item folder): one per item, even where two
        items share a key (two copies of one file, one file listed for two people)."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for rec in self.read():
            if rec.get("event") == "item" and isinstance(rec.get("key"), str) and isinstance(rec.get("out_dir"), str):
                out[(rec["key"], rec["out_dir"])] = rec
        return out

    def _finished(self, rec: dict[str, Any]) -> bool:
        return rec.get("status") in DONE_STATUSES and (self.out_dir / str(rec.get("out_dir", "")) / "result.json").is_file()

    def done(self) -> dict[str, dict[str, Any]]:
        """Item records that count as done and whose output folder still holds its result.json."""
        return {k: r for k, r in self.latest().items() if self._finished(r)}

    def done_items(self) -> dict[tuple[str, str], dict[str, Any]]:
        """:meth:`done`, by (item key, item folder): what ``run_batch`` skips."""
        return {k: r for k, r in self.latest_items().items() if self._finished(r)}
