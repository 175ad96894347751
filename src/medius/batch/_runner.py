"""Run a batch on Dask: skip what is done, analyse the rest on workers, record every outcome.

Each item runs :func:`analyze_item` on a worker, which calls
:func:`medius.report.outputs.run_analysis` exactly as ``medius analyze`` does (same settings, its
own pose backend, output written to a temporary folder then renamed) and returns a small summary,
never the result arrays. The driver appends one ledger line per finished item as soon as it
finishes (:mod:`medius.batch._ledger`), so an interrupted batch resumes where it stopped.

Items with the same key (two copies of one file, or one file listed for two people) are separate
items: each is analysed under its own Dask task, into its own folder, and recorded on its own
ledger line. They do not share one result, because ``result.json`` names its input (the file
name, and for keypoint and marker files the path, in its provenance), which the key (content and
settings) does not cover. For the same reason an item is skipped on a re-run only when the ledger
holds a finished record with its key, its folder and its input path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medius import __version__
from medius.batch._items import BatchItem, compute_input_sha256, compute_item_key
from medius.batch._ledger import DONE_STATUSES, Ledger
from medius.errors import MediusError, OutputError

__all__ = [
    "PROGRESS_TOPIC",
    "BatchRun",
    "ItemOutcome",
    "analyze_item",
    "item_folder_name",
    "item_folder_names",
    "run_batch",
    "usable_cores",
]

#: Dask event topic on which workers report frame progress ``{"key", "task", "stage", "done",
#: "total"}`` (``task``: the Dask task of the item, unique in the batch; ``key``: the item key)
PROGRESS_TOPIC = "medius-batch-progress"
_PROGRESS_INTERVAL_S = 0.5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one, else all cores)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


def item_folder_name(item: BatchItem, key: str) -> str:
    """``<person id or input stem>-<first 8 hex digits of the key>``, safe as a folder name."""
    base = item.person_id or (item.path.name if item.path.is_dir() else item.path.stem)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "item"
    return f"{base[:60]}-{key[:8]}"


def item_folder_names(items: list[BatchItem], keys: list[str]) -> list[str]:
    """The item folder name of every item of a batch (``""`` where the key is ``""``), all distinct.

    :func:`item_folder_name`, except where two items would share a folder (the same key and the
    same person id or input stem: two copies of one file, say): each of those gets
    ``-<6 hex digits of the SHA-256 of its input path and person id>`` added, so a name depends on
    the item and on which others collide with it, never on the order of the items.
    """
    names = [item_folder_name(it, k) if k else "" for it, k in zip(items, keys, strict=True)]
    clash = Counter(n for n in names if n)
    out: list[str] = []
    used: set[str] = set()
    for it, n in zip(items, names, strict=True):
        if n and clash[n] > 1:
            ident = hashlib.sha256(f"{it.path}\0{it.person_id}".encode()).hexdigest()
            n = f"{n}-{ident[:6]}"
        base, k = n, 2
        while n and n in used:  # the very same item given twice (not from a manifest)
            n, k = f"{base}-{k}", k + 1
        used.add(n)
        out.append(n)
    return out


class UnexpectedItemError(Exception):
    """An analysis that raised something other than a :class:`~medius.errors.MediusError` (a bug):
    its message is the original exception's class, message and innermost frame."""


def _describe(exc: BaseException) -> str:
    import traceback

    text = " ".join(str(exc).split())
    where = ""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if frames:
        f = frames[-1]
        where = f" (at {Path(f.filename).name}:{f.lineno} in {f.name})"
    return f"{type(exc).__name__}: {text}{where}"


def analyze_item(payload: dict[str, Any]) -> dict[str, Any]:
    """Analyse one item on a worker (or in-process) and return a small summary.

    Parameters
    ----------
    payload
        ``key``, ``path``, ``out_dir`` and ``settings`` (:class:`~medius.analysis.AnalysisRequest` fields, :meth:`ItemSettings.as_kwargs`);
        optionally ``task``, the Dask task running it, which names it in progress events.

    Returns
    -------
    dict
        ``key``, ``status`` (``ok``, ``not_judgeable`` or ``failed``), ``exit_code``, ``reason``,
        ``n_reps``, ``n_stances``, ``worker``, ``pid``, ``host``, ``started_utc``, ``duration_s``.
        A :class:`~medius.errors.MediusError` (corrupt or invalid input) is a failed item; any
        other exception is raised again as :class:`UnexpectedItemError`, so Dask retries the item
        (``retries``) before recording it.
    """
    from medius.analysis import AnalysisRequest
    from medius.report import outputs

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
            worker.log_event(PROGRESS_TOPIC, {"key": payload["key"], "task": payload.get("task", payload["key"]),
                                              "stage": stage, "done": done, "total": total})

    t0 = time.perf_counter()
    summary: dict[str, Any] = {
        "key": payload["key"],
        "worker": getattr(worker, "address", None),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": _now(),
    }
    bug: UnexpectedItemError | None = None
    try:
        request = AnalysisRequest(Path(payload["path"]), out_dir=Path(payload["out_dir"]), force=True,
                                  **payload["settings"])
        oc = outputs.run_analysis(request, progress=progress)
    except MediusError as exc:
        summary.update(status="failed", exit_code=exc.exit_code, reason=f"{type(exc).__name__}: {exc}",
                       n_reps=0, n_stances=0)
    except Exception as exc:
        bug = UnexpectedItemError(_describe(exc))
    else:
        r = oc.result
        summary.update(
            status="ok" if oc.judgeable else "not_judgeable",
            exit_code=oc.exit_code,
            reason="" if oc.judgeable else "; ".join(r.get("quality", {}).get("reasons", [])) or "not judgeable",
            n_reps=len(r.get("reps") or []),
            n_stances=len(r.get("stances") or []),
        )
    if bug is not None:
        # A bug: raised again (so Dask retries it) as a small exception with no traceback or context
        # from the analysis, outside the except block. A deep traceback (a RecursionError's) does
        # not survive the trip to the client, whose future then never finishes: the batch hung.
        raise bug
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
    #: the Dask task that analysed it in this run ("" when skipped or failed before any work)
    task: str = ""

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


def _local_cluster_config(allowed_failures: int) -> dict[str, Any]:
    """Dask settings of the local cluster, in force for the whole run (some are read while it runs).

    * ``allowed-failures``: deaths of workers running an item before the item is failed.
    * ``worker-saturation`` 1.0: a worker holds only the item it runs. With Dask's default (1.1) a
      one-thread worker also holds the next item, and the scheduler counts the worker's death
      against both: an item could fail as "died too many times" next to one that crashes.
    * ``lost-worker-timeout``: 15 s after a worker is lost, the cluster closes its nanny for good
      if no worker of that name is back at that moment. A worker that keeps crashing is often
      mid-restart then, so the cluster shrank, to no worker at all, and the batch waited for ever.
      The nannies restart their workers themselves; the cluster never closes them during a run.
    * ``nanny.pre-spawn-environ`` without ``MALLOC_TRIM_THRESHOLD_``: Dask sets it (64 KiB) in
      every worker to hand freed memory back to the system sooner, but setting it switches off
      glibc's adaptive mmap threshold, so every decoded frame (a few MB) became a fresh ``mmap``
      whose pages fault in again: a video item took 5.5 s on a one-worker cluster against 4.7 s
      in a plain process, 4.6 s without it (6 clips of 150 frames at 960 px, 2 cores). Memory
      stays bounded without it: the frames of one item are freed and reused as it runs.
      Dask's thread caps for OpenMP, MKL and OpenBLAS (1 each) are kept.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.scheduler.allowed-failures": allowed_failures,
        "distributed.scheduler.worker-saturation": 1.0,
        "distributed.deploy.lost-worker-timeout": "3650 days",
        "distributed.nanny.pre-spawn-environ": environ,
    }


def local_cluster_addresses() -> dict[str, str | None]:
    """Where the local Dask cluster listens: the scheduler and its dashboard on loopback (the
    dashboard has no sign-in); ``MEDIUS_DASK_DASHBOARD`` (e.g. ``0.0.0.0:8787``) asks for another
    dashboard address, ``MEDIUS_DASK_DASHBOARD=off`` for none."""
    import os

    dashboard = os.environ.get("MEDIUS_DASK_DASHBOARD", "").strip() or "127.0.0.1:0"
    return {"host": "127.0.0.1", "dashboard_address": None if dashboard == "off" else dashboard}


def _start_client(scheduler: str | None, n_workers: int | None) -> tuple[Any, Any, int]:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise OutputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        n = len(client.scheduler_info().get("workers", {}))
        return client, None, n
    n = n_workers or usable_cores()
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, silence_logs=50,
                           **local_cluster_addresses())
    return Client(cluster), cluster, n


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
        worker processes of the local cluster (one thread each); default: :func:`usable_cores`.
    retries
        extra attempts for an item whose analysis raised an unexpected exception.
    allowed_failures
        how many workers may die while running one item before it is recorded as failed (local
        cluster; an existing cluster uses its scheduler's ``distributed.scheduler.allowed-failures``).
    on_start
        called with (items to analyse, items skipped as done) before the first item runs; the items
        to analyse include those whose input could not be read (failed before any work).
    on_item
        called on the driver with each :class:`ItemOutcome` as it finishes (and for skipped items).
    on_frames
        called with (item task, stage, frames done, frames total) as workers report progress
        (the task is :attr:`ItemOutcome.task` of the item once it finishes).

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
    done = ledger.done_items()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]

    outcomes: list[ItemOutcome | None] = [None] * len(items)
    keys: list[str] = []
    for i, item in enumerate(items):
        try:
            keys.append(compute_item_key(compute_input_sha256(item.path), item.settings))
        except MediusError as exc:
            keys.append("")
            outcomes[i] = ItemOutcome(item, "", "", "failed", reason=f"{type(exc).__name__}: {exc}",
                                      exit_code=exc.exit_code)
    todo: list[tuple[int, str, str]] = []
    for i, (item, key, name) in enumerate(zip(items, keys, item_folder_names(items, keys), strict=True)):
        if not key:
            continue
        rel = f"items/{name}"
        rec = done.get((key, rel))
        if rec is not None and rec.get("input") == str(item.path):
            outcomes[i] = ItemOutcome(item, key, rel, rec["status"], reason=rec.get("reason", ""),
                                      exit_code=rec.get("exit_code"), skipped=True, record=rec)
        else:
            todo.append((i, key, rel))
    ledger.append({"event": "run", "run_id": run_id, "started_utc": _now(), "medius_version": __version__,
                   "n_items": len(items), "n_to_run": len(todo), "scheduler": scheduler or "local"})
    for o in outcomes:
        if o is not None and not o.skipped:  # unreadable input: failed before any work
            _record(ledger, run_id, o, {"status": "failed", "reason": o.reason, "exit_code": o.exit_code})
    if on_start:  # to analyse: the items to run and those that failed before any work (reported below)
        n_early = sum(1 for o in outcomes if o is not None and not o.skipped)
        on_start(len(todo) + n_early, sum(1 for o in outcomes if o is not None and o.skipped))
    if on_item:
        for o in outcomes:
            if o is not None:
                on_item(o)

    n = 0
    if todo:
        import dask
        import distributed  # noqa: F401 - its defaults must be in the config before the set below,
        # else leaving the set removes the whole "distributed" section that appeared inside it

        with dask.config.set({} if scheduler else _local_cluster_config(allowed_failures)):
            client, cluster, n = _start_client(scheduler, n_workers)
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
                on_frames(msg["task"], msg["stage"], msg["done"], msg["total"])

        with contextlib.suppress(Exception):
            client.subscribe_topic(PROGRESS_TOPIC, handler)
    futures = {}
    for prio, (i, key, rel) in enumerate(todo):
        item = items[i]
        # unique per item (items may share a key), and per run (a re-run never meets an old task)
        task = f"medius-item-{i}-{key[:16]}-{run_id}"
        payload = {
            "key": key,
            "task": task,
            "path": str(item.path),
            "out_dir": str((out_dir / rel).absolute()),
            "settings": item.settings.as_kwargs(),
        }
        fut = client.submit(analyze_item, payload, key=task, pure=False, retries=retries, priority=-prio)
        futures[fut] = (i, key, rel, task)
    try:
        # with_results: each summary is fetched as soon as its item finishes, on the client's own
        # thread, not when this loop reaches it. A finished item's summary lives on its worker until
        # then, and a worker that crashes on its next item would take it along (Dask then analyses
        # the finished item again).
        for fut, res in as_completed(list(futures), with_results=True, raise_errors=False):
            i, key, rel, task = futures.pop(fut)
            o = ItemOutcome(items[i], key, rel, "failed", task=task)
            if isinstance(res, dict):  # the summary (the future may already read "lost" again)
                summary = res
            else:  # a worker died too often, or the analysis kept raising, or it was cancelled
                exc = res[1] if isinstance(res, tuple) and len(res) == 3 else res
                if not isinstance(exc, BaseException):
                    exc = RuntimeError(f"the task ended as {fut.status!r}")
                summary = {"status": "failed", "exit_code": 1, "reason": _unexpected_reason(exc, retries),
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


def _unexpected_reason(exc: BaseException, retries: int) -> str:
    """One line for an item whose task ended in an exception instead of a summary."""
    name = type(exc).__name__
    if name == "KilledWorker":
        attempts = getattr(exc, "allowed_failures", None)
        worker = getattr(getattr(exc, "last_worker", None), "address", None)
        times = f"{attempts + 1} times" if isinstance(attempts, int) else "too many times"
        return (f"the worker running it died {times} (a crash, out of memory or killed"
                + (f"; last on {worker}" if worker else "") + "): not tried again")
    text = str(exc) if isinstance(exc, UnexpectedItemError) else _describe(exc)
    return (f"the analysis raised an unexpected error {retries + 1} time{'s' if retries else ''} "
            f"(a bug in medius): {text}")
