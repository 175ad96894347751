"""Load on the clinic web app, on loopback (part of ``make bench``; alone: ``python benchmarks/bench_web.py``).

For each database (SQLite, and PostgreSQL when its binaries are installed: a throwaway server is
started in a temporary folder, as the ``postgres`` user when running as root):

1. a fresh data folder and database, migrated with Alembic, seeded in bulk with 10,000 patients
   and 50,000 visits in one clinic (plus another clinic, so every query has to filter) and 20
   analysed recordings whose result folder is a real analysis of a SYNTHETIC squat, then
   ``ANALYZE``d (the planner statistics a database in use has);
2. the app runs in its own process (``medius serve``, ``--workers`` uvicorn processes, default 2, the
   analysis worker off);
3. ``--users`` simulated clinicians (default 50) sign in (5 sessions shared between them) and for
   ``--seconds`` (default 30) each repeats: open a page, wait ``--think-s`` (default 1 s, a fast
   clinician), open the next: about 45 requests a second in all, a bounded load. The mix: the patient list (a random page; one in five a name search), the JSON patient
   list, a patient with their visits, a result page (rep table, plots, video) and a visit page;
4. prints requests, throughput, p50/p95/p99 latency (ms) and errors, per page and overall, and
   whether p95 < ``--target-ms`` (default 100) with no errors.

Exit code 0 when every run meets the target, 1 otherwise. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any


def find_pg_bin() -> Path:
    """``MEDIUS_PG_BIN``, else the newest Debian PostgreSQL (``/usr/lib/postgresql/<major>/bin``)."""
    if os.environ.get("MEDIUS_PG_BIN"):
        return Path(os.environ["MEDIUS_PG_BIN"])
    found = [
        p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parent.parent.name.isdigit()
    ]
    return max(found, key=lambda b: int(b.parent.name)) if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = find_pg_bin()
PASSWORD = "bench password 1"
EMAIL = "bench@clinic.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------ PostgreSQL
class PgServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="medius-bench-pg-"))
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [
                *self.as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(self.root / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        subprocess.run(
            [
                *self.as_postgres,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-l",
                str(self.root / "server.log"),
                "-o",
                opts,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE medius_bench")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/medius_bench"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------------------ seeding
def analysed_folder(cache: Path) -> Path:
    """One real analysis output of a SYNTHETIC single-leg squat (made once per run)."""
    from medius.analysis import AnalysisRequest
    from medius.io.keypoint_files import write_trc
    from medius.report.outputs import run_analysis
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats

    out = cache / "result"
    if (out / "result.json").is_file():
        return out
    spec = SyntheticSquats(
        reps=(
            SyntheticRep("left", fppa_deg=8.0),
            SyntheticRep("left", fppa_deg=9.0),
            SyntheticRep("right", fppa_deg=15.0),
            SyntheticRep("right", fppa_deg=16.0),
        )
    )
    kp, _ = make_single_leg_squats(spec)
    trc = write_trc(kp, cache / "synthetic_px.trc")
    run_analysis(AnalysisRequest(trc, task="single-leg-squat", out_dir=out, annotated_video=True, max_side_px=480))
    return out


def seed(database_url: str, data_dir: Path, *, patients: int, visits: int, result: Path) -> dict[str, Any]:
    """Migrate and fill the database in bulk; returns ids the load uses."""
    from sqlalchemy import insert

    from medius.web.auth.service import create_user, get_or_create_clinic
    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database
    from medius.web.media._child import summarize_result
    from medius.web.models import Job, Patient, Recording, Visit
    from medius.web.patients.service import sort_name

    rng = random.Random(7)
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    factory = make_sessionmaker(engine)
    with factory() as db:
        clinic = get_or_create_clinic(db, "Bench clinic")
        other = get_or_create_clinic(db, "Other clinic")
        create_user(db, clinic_id=clinic.id, email=EMAIL, password=PASSWORD, role="admin")
        db.commit()
        cid, oid = clinic.id, other.id
    family = [
        "Smith",
        "Jones",
        "Garcia",
        "Müller",
        "Rossi",
        "Dubois",
        "Nowak",
        "Kim",
        "Silva",
        "Olsen",
        "Haddad",
        "Ivanova",
        "Tanaka",
        "Okafor",
        "Novak",
        "Berg",
    ]
    given = ["Ann", "Ben", "Chloé", "Dan", "Eva", "Finn", "Gita", "Hugo", "Ines", "Jon", "Kara", "Liam"]
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    pids: list[uuid.UUID] = []
    rows = []
    for i in range(patients):
        fam, giv = f"{rng.choice(family)}{i:05d}", rng.choice(given)
        pid = uuid.uuid4()
        pids.append(pid)
        rows.append(
            {
                "id": pid,
                "clinic_id": cid if i % 10 else oid,
                "family_name": fam,
                "given_name": giv,
                "sort_name": sort_name(fam, giv),
                "reference": f"R{i:06d}",
                "notes": "",
                "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(25000)),
                "sex": rng.choice(["female", "male"]),
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for k in range(0, len(rows), 2000):
            conn.execute(insert(Patient), rows[k : k + 2000])
    clinic_of = {r["id"]: r["clinic_id"] for r in rows}
    vrows = []
    for j in range(visits):
        pid = pids[j % patients]
        vrows.append(
            {
                "id": uuid.uuid4(),
                "clinic_id": clinic_of[pid],
                "patient_id": pid,
                "clinician_id": None,
                "visit_date": date(2024, 1, 1) + timedelta(days=rng.randrange(900)),
                "reason": "follow-up",
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for k in range(0, len(vrows), 5000):
            conn.execute(insert(Visit), vrows[k : k + 5000])
    summary = summarize_result(json.loads((result / "result.json").read_text()))
    recs = []
    ours = [v for v in vrows if v["clinic_id"] == cid]
    with engine.begin() as conn:
        for v in ours[:20]:
            rid = uuid.uuid4()
            shutil.copytree(result, data_dir / "media" / str(rid) / "result")
            conn.execute(
                insert(Recording),
                [
                    {
                        "id": rid,
                        "clinic_id": cid,
                        "visit_id": v["id"],
                        "kind": "keypoints",
                        "task": "single-leg-squat",
                        "side": "auto",
                        "original_name": "squat.trc",
                        "stored_name": "input.trc",
                        "size_bytes": 1,
                        "sha256": "0" * 64,
                        "created_at": now,
                    }
                ],
            )
            conn.execute(
                insert(Job),
                [
                    {
                        "id": uuid.uuid4(),
                        "clinic_id": cid,
                        "recording_id": rid,
                        "status": "done",
                        "attempts": 1,
                        "options": {},
                        "stage": "finished",
                        "progress_done": 0,
                        "error": "",
                        "queued_at": now,
                        "finished_at": now,
                        "summary": summary,
                        "results_recorded": 1,
                    }
                ],
            )
            recs.append(str(rid))
    # planner statistics, as autovacuum (PostgreSQL) or a long-used database would have them: without
    # them PostgreSQL plans the freshly bulk-loaded tables blind (the patient list took ~2x longer)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    seconds = time.perf_counter() - t0
    engine.dispose()
    our_patients = [str(r["id"]) for r in rows if r["clinic_id"] == cid]
    return {
        "patients": our_patients,
        "visits": [str(v["id"]) for v in ours[:2000]],
        "recordings": recs,
        "seed_s": seconds,
        "n_patients": patients,
        "n_visits": visits,
    }


# ------------------------------------------------------------------------------ the server
def start_server(data_dir: Path, database_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``medius serve`` in its own process (the analysis worker off: nothing to analyse here)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIUS_WORKER": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medius.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(
                "the app did not start: " + (proc.stderr.read() if proc.stderr else b"").decode()
            )
    proc.kill()
    raise RuntimeError("the app did not answer within 60 s")


# ------------------------------------------------------------------------------ the load
async def sign_in(client: Any, base: str) -> None:
    r = await client.get(base + "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": token, "clinic": "bench-clinic"}
    r = await client.post(base + "/login", data=data)
    if r.status_code not in (200, 303) or "medius_session" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {r.status_code}")


async def run_load(
    base: str, ids: dict[str, Any], *, users: int, seconds: float, think_s: float
) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    clients = [httpx.AsyncClient(limits=limits, timeout=30, follow_redirects=False) for _ in range(5)]
    for c in clients:
        await sign_in(c, base)
    rng = random.Random(11)
    n_pages = max(1, len(ids["patients"]) // 25)
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def pick() -> tuple[str, str]:
        r = rng.random()
        if r < 0.30:
            if rng.random() < 0.2:
                return (
                    "patient list (search)",
                    f"/patients?q={rng.choice(['smith', 'garc', 'r0012', 'müller0'])}",
                )
            return "patient list", f"/patients?page={rng.randint(1, n_pages)}"
        if r < 0.45:
            return "api patient list", f"/api/patients?page={rng.randint(1, n_pages)}"
        if r < 0.65:
            return "patient page", f"/patients/{rng.choice(ids['patients'])}"
        if r < 0.85:
            return "result page", f"/recordings/{rng.choice(ids['recordings'])}"
        return "visit page", f"/visits/{rng.choice(ids['visits'])}"

    async def user(k: int) -> None:
        client = clients[k % len(clients)]
        await asyncio.sleep(rng.random() * max(think_s, 0.05))  # users do not start in lock-step
        while time.monotonic() < stop:
            name, url = pick()
            t = time.perf_counter()
            try:
                r = await client.get(base + url)
                ok = r.status_code == 200
                if not ok and len(failures) < 5:
                    failures.append(f"{url}: HTTP {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                if len(failures) < 5:
                    failures.append(f"{url}: {type(exc).__name__}: {exc}")
            lat[name].append((time.perf_counter() - t) * 1000)
            if not ok:
                errors[name] += 1
            if think_s:
                await asyncio.sleep(think_s)

    # warm-up (not measured): every page type once, as a clinic machine would have done
    for url in (
        "/patients",
        "/api/patients",
        f"/patients/{ids['patients'][0]}",
        f"/recordings/{ids['recordings'][0]}",
        f"/visits/{ids['visits'][0]}",
    ):
        await clients[0].get(base + url)
    stop = time.monotonic() + seconds
    t0 = time.monotonic()
    await asyncio.gather(*(user(k) for k in range(users)))
    wall = time.monotonic() - t0
    for c in clients:
        await c.aclose()
    return {"latency_ms": dict(lat), "errors": dict(errors), "wall_s": wall, "failures": failures}


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and its children (workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def report(backend: str, res: dict[str, Any], target_ms: float) -> dict[str, Any]:
    allv = [v for vs in res["latency_ms"].values() for v in vs]
    n_err = sum(res["errors"].values())
    print(
        f"\n== {backend}: {len(allv)} requests in {res['wall_s']:.1f} s "
        f"({len(allv) / res['wall_s']:.0f} req/s), errors {n_err}"
    )
    print(f"  {'page':<24}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, vs in sorted(res["latency_ms"].items()):
        print(
            f"  {name:<24}{len(vs):>7}{pct(vs, 50):>9.1f}{pct(vs, 95):>9.1f}{pct(vs, 99):>9.1f}"
            f"{res['errors'].get(name, 0):>8}"
        )
    p50, p95, p99 = pct(allv, 50), pct(allv, 95), pct(allv, 99)
    ok = p95 < target_ms and n_err == 0
    for f in res.get("failures", []):
        print(f"  error: {f}")
    print(f"  {'all':<24}{len(allv):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{n_err:>8}")
    if res.get("server_cpu_s"):
        print(
            f"  server CPU: {1000 * res['server_cpu_s'] / max(1, len(allv)):.1f} ms per request "
            f"(load-independent cost; the machine's load average is {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )
    print(
        f"  {'PASS' if ok else 'MISS'}: p95 {p95:.1f} ms (target < {target_ms:g} ms), errors {n_err} (target 0)"
    )
    return {
        "backend": backend,
        "requests": len(allv),
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "errors": n_err,
        "req_per_s": len(allv) / res["wall_s"],
        "mean_ms": statistics.fmean(allv) if allv else None,
        "pass": ok,
    }


def run_backend(backend: str, args: argparse.Namespace, cache: Path) -> dict[str, Any]:
    pg = PgServer() if backend == "postgresql" else None
    root = Path(tempfile.mkdtemp(prefix=f"medius-bench-{backend}-"))
    proc = None
    try:
        data_dir = root / "data"
        (data_dir / "media").mkdir(parents=True)
        url = pg.url if pg else f"sqlite:///{root / 'medius.sqlite3'}"
        ids = seed(url, data_dir, patients=args.patients, visits=args.visits, result=analysed_folder(cache))
        print(f"{backend}: seeded {args.patients} patients and {args.visits} visits in {ids['seed_s']:.1f} s")
        proc, base = start_server(data_dir, url, args.workers)
        cpu0 = server_cpu_s(proc.pid)
        res = asyncio.run(run_load(base, ids, users=args.users, seconds=args.seconds, think_s=args.think_s))
        res["server_cpu_s"] = server_cpu_s(proc.pid) - cpu0
        return report(backend, res, args.target_ms)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if pg:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--users", type=int, default=50, help="concurrent simulated clinicians (default 50)")
    ap.add_argument("--seconds", type=float, default=30.0, help="load duration per backend (default 30)")
    ap.add_argument(
        "--think-s", type=float, default=1.0, help="pause of each user between pages (default 1.0)"
    )
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--visits", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2, help="web server processes (default 2)")
    ap.add_argument("--target-ms", type=float, default=100.0, help="p95 latency target (default 100 ms)")
    ap.add_argument("--json", type=Path, default=Path("build/bench/bench-web.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not (PG_BIN / "initdb").exists():
        print(f"PostgreSQL skipped: no binaries in {PG_BIN} (install Debian's postgresql package)")
        backends.remove("postgresql")
    print(
        f"medius web load: {args.users} users, {args.seconds:g} s each, think time {args.think_s:g} s, "
        f"{args.patients} patients / {args.visits} visits, on {', '.join(backends)}"
    )
    with tempfile.TemporaryDirectory(prefix="medius-bench-cache-") as cache:
        results = [run_backend(b, args, Path(cache)) for b in backends]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "settings": {
                    k: v
                    for k, v in vars(args).items()
                    if k in ("users", "seconds", "think_s", "patients", "visits", "target_ms", "workers")
                },
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nresults written to {args.json}")
    # like the other benches: a missed target is printed (MISS), not an error of `make bench`
    return 0


if __name__ == "__main__":
    sys.exit(main())
