"""Run a batch on Dask: skip what is done, analyse the rest on workers, record every outcome.

Each item runs :func:`analyze_item` on a worker, which calls
:func:`medius.report.pipeline.analyze_path` exactly as ``medius analyze`` does (same settings, its
own pose backend, output written to a temporary folder then renamed) and returns a small summary,
never the result arrays. The driver appends one ledger line per finished item as soon as it
finishes (:mod:`medius.batch._ledger`), so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medius import __version__
from medius.batch._items import BatchItem, compute_input_sha256, compute_item_key
from medius.batch._ledger import DONE_STATUSES, Ledger
from medius.errors import MediusError, OutputError

__all__ = ["PROGRESS_TOPIC", "BatchRun", "ItemOutcome", "analyze_item", "item_folder_name", "run_batch"]

#: Dask event topic on which workers report frame progress ``{"key", "stage", "done", "total"}``
PROGRESS_TOPIC = "medius-batch-progress"
_PROGRESS_INTERVAL_S = 0.5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def item_folder_name(item: BatchItem, key: str) -> str:
    """``<person id or input stem>-<first 8 hex digits of the key>``, safe as a folder name."""
    base = item.person_id or (item.path.name if item.path.is_dir() else item.path.stem)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "item"
    return f"{base[:60]}-{key[:8]}"


def analyze_item(payload: dict[str, Any]) -> dict[str, Any]:
    """Analyse one item on a worker (or in-process) and return a small summary.

    Parameters
    ----------
    payload
        ``key``, ``path``, ``out_dir`` and ``settings`` (keyword arguments of ``analyze_path``).

    Returns
    -------
    dict
        ``key``, ``status`` (``ok``, ``not_judgeable`` or ``failed``), ``exit_code``, ``reason``,
        ``n_reps``, ``n_stances``, ``worker``, ``pid``, ``host``, ``started_utc``, ``duration_s``.
        A :class:`~medius.errors.MediusError` (corrupt or invalid input) is a failed item; any
        other exception propagates, so Dask retries the item (``retries``) before recording it.
    """
    from medius.report.pipeline import analyze_path

    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        worker = None
    last = [0.0]

    def progress(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if worker is None or (now - last[0] < _PROGRESS_INTERVAL_S and (total is None or done < total)):
            return
        last[0] = now
        with contextlib.suppress(Exception):
            worker.log_event(PROGRESS_TOPIC, {"key": payload["key"], "stage": stage, "done": done, "total": total})

    t0 = time.perf_counter()
    summary: dict[str, Any] = {
        "key": payload["key"],
        "worker": getattr(worker, "address", None),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": _now(),
    }
    try:
        oc = analyze_path(payload["path"], out_dir=payload["out_dir"], force=True, progress=progress,
                          **payload["settings"])
    except MediusError as exc:
        summary.update(status="failed", exit_code=exc.exit_code, reason=f"{type(exc).__name__}: {exc}",
                       n_reps=0, n_stances=0)
    else:
        r = oc.result
        summary.update(
            status="ok" if oc.judgeable else "not_judgeable",
            exit_code=oc.exit_code,
            reason="" if oc.judgeable else "; ".join(r.get("quality", {}).get("reasons", [])) or "not judgeable",
            n_reps=len(r.get("reps") or []),
            n_stances=len(r.get("stances") or []),
        )
    summary["duration_s"] = round(time.perf_counter() - t0, 3)
    return summary


@dataclass
class ItemOutcome:
    """What happened to one item in this run (``skipped`` = done by an earlier run)."""

    item: BatchItem
    key: str
    out_dir: str
    status: str
    reason: str = ""
    exit_code: int | None = None
    skipped: bool = False
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


@dataclass
class BatchRun:
    """A finished (or interrupted) batch run."""

    run_id: str
    out_dir: Path
    outcomes: list[ItemOutcome]
    n_workers: int
    wall_s: float

    @property
    def failed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def analysed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if not o.skipped]


def _clean_stale(items_dir: Path) -> None:
    """Remove temporary folders left by a worker killed mid-write (never a finished folder)."""
    if not items_dir.is_dir():
        return
    for p in items_dir.iterdir():
        if p.name.startswith(".") and (p.name.endswith(".partial") or ".old-" in p.name):
            shutil.rmtree(p, ignore_errors=True)


def _start_client(scheduler: str | None, n_workers: int | None, allowed_failures: int) -> tuple[Any, Any, int]:
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise OutputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        n = len(client.scheduler_info().get("workers", {}))
        return client, None, n
    n = n_workers or os.cpu_count() or 1
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        )
        client = Client(cluster)
    return client, cluster, n


def run_batch(
    items: list[BatchItem],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    retries: int = 1,
    allowed_failures: int = 3,
    on_start: Callable[[int, int], None] | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
    on_frames: Callable[[str, str, int, int | None], None] | None = None,
) -> BatchRun:
    """Analyse every item not already done, on a local Dask cluster or an existing one.

    Parameters
    ----------
    items
        the batch (from :func:`~medius.batch.read_manifest` or :func:`~medius.batch.discover_items`).
    out_dir
        the batch output folder: ``items/<name>-<key8>/`` per item, ``ledger.jsonl``.
    scheduler
        address of a running Dask scheduler (``tcp://host:8786``); ``None`` starts a local cluster.
    n_workers
        worker processes of the local cluster (one thread each); default: the number of cores.
    retries
        extra attempts for an item whose analysis raised an unexpected exception.
    allowed_failures
        how many workers may die while running one item before it is recorded as failed (local
        cluster; an existing cluster uses its scheduler's ``distributed.scheduler.allowed-failures``).
    on_start
        called with (items to analyse, items skipped as done) before the first item runs.
    on_item
        called on the driver with each :class:`ItemOutcome` as it finishes (and for skipped items).
    on_frames
        called with (item key, stage, frames done, frames total) as workers report progress.

    Returns
    -------
    BatchRun
        one outcome per item, in the order given. ``KeyboardInterrupt`` propagates after the
        futures are cancelled; what finished is in the ledger.
    """
    out_dir = Path(out_dir)
    items_dir = out_dir / "items"
    try:
        items_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the batch output folder ({exc.strerror or exc})", path=out_dir) from None
    t_start = time.perf_counter()
    _clean_stale(items_dir)
    ledger = Ledger(out_dir)
    done = ledger.done()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]

    outcomes: list[ItemOutcome | None] = [None] * len(items)
    todo: list[tuple[int, str, str]] = []
    for i, item in enumerate(items):
        try:
            key = compute_item_key(compute_input_sha256(item.path), item.settings)
        except MediusError as exc:
            outcomes[i] = ItemOutcome(item, "", "", "failed", reason=f"{type(exc).__name__}: {exc}",
                                      exit_code=exc.exit_code)
            continue
        if key in done:
            rec = done[key]
            outcomes[i] = ItemOutcome(item, key, rec["out_dir"], rec["status"], reason=rec.get("reason", ""),
                                      exit_code=rec.get("exit_code"), skipped=True, record=rec)
        else:
            todo.append((i, key, f"items/{item_folder_name(item, key)}"))
    ledger.append({"event": "run", "run_id": run_id, "started_utc": _now(), "medius_version": __version__,
                   "n_items": len(items), "n_to_run": len(todo), "scheduler": scheduler or "local"})
    for o in outcomes:
        if o is not None and not o.skipped:  # unreadable input: failed before any work
            _record(ledger, run_id, o, {"status": "failed", "reason": o.reason, "exit_code": o.exit_code})
    if on_start:
        on_start(len(todo), sum(1 for o in outcomes if o is not None and o.skipped))
    if on_item:
        for o in outcomes:
            if o is not None:
                on_item(o)

    n = 0
    if todo:
        client, cluster, n = _start_client(scheduler, n_workers, allowed_failures)
        try:
            _run_futures(client, items, todo, out_dir, run_id, retries, ledger, outcomes, on_item, on_frames)
            _clean_stale(items_dir)  # a worker killed mid-item leaves its temporary folder behind
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=10)
    return BatchRun(run_id=run_id, out_dir=out_dir, outcomes=[o for o in outcomes if o is not None],
                    n_workers=n, wall_s=time.perf_counter() - t_start)


def _record(ledger: Ledger, run_id: str, o: ItemOutcome, summary: dict[str, Any]) -> dict[str, Any]:
    rec = {
        "event": "item",
        "run_id": run_id,
        "key": o.key,
        "input": str(o.item.path),
        "person_id": o.item.person_id,
        "task": o.item.settings.task,
        "group": o.item.group,
        "out_dir": o.out_dir,
        "finished_utc": _now(),
        **summary,
    }
    if o.key:
        ledger.append(rec)
    o.record = rec
    return rec


def _run_futures(
    client: Any,
    items: list[BatchItem],
    todo: list[tuple[int, str, str]],
    out_dir: Path,
    run_id: str,
    retries: int,
    ledger: Ledger,
    outcomes: list[ItemOutcome | None],
    on_item: Callable[[ItemOutcome], None] | None,
    on_frames: Callable[[str, str, int, int | None], None] | None,
) -> None:
    from distributed import as_completed

    if on_frames is not None:

        def handler(event: Any) -> None:
            _, msg = event
            with contextlib.suppress(Exception):
                on_frames(msg["key"], msg["stage"], msg["done"], msg["total"])

        with contextlib.suppress(Exception):
            client.subscribe_topic(PROGRESS_TOPIC, handler)
    futures = {}
    for prio, (i, key, rel) in enumerate(todo):
        item = items[i]
        payload = {
            "key": key,
            "path": str(item.path),
            "out_dir": str((out_dir / rel).absolute()),
            "settings": item.settings.as_kwargs(),
        }
        fut = client.submit(analyze_item, payload, key=f"medius-item-{key[:16]}-{run_id}", pure=False,
                            retries=retries, priority=-prio)
        futures[fut] = (i, key, rel)
    try:
        for fut in as_completed(list(futures)):
            i, key, rel = futures.pop(fut)
            o = ItemOutcome(items[i], key, rel, "failed")
            try:
                summary = fut.result()
            except Exception as exc:  # a worker died too often, or the analysis kept raising
                name = type(exc).__name__
                what = ("the worker running it died too many times" if name == "KilledWorker"
                        else "the analysis raised an unexpected error (a bug in medius)")
                summary = {"status": "failed", "exit_code": 1, "reason": f"{what}: {name}: {exc}",
                           "n_reps": 0, "n_stances": 0}
            fut.release()
            o.status = summary["status"]
            o.reason = summary.get("reason", "")
            o.exit_code = summary.get("exit_code")
            _record(ledger, run_id, o, summary)
            outcomes[i] = o
            if on_item:
                on_item(o)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures), force=True)
        raise
