"""Settings of the clinic web app, read from the environment (no extra dependency).

=========================  ==========================================================  =====================
variable                   meaning                                                     default
=========================  ==========================================================  =====================
``MEDIUS_DATA_DIR``        folder of the database, uploads, results and secret key     the user data folder
``DATABASE_URL``           SQLAlchemy URL; ``postgresql+psycopg://...`` for PostgreSQL  SQLite in the data folder
``MEDIUS_MAX_UPLOAD_MB``   largest accepted upload                                     500
``MEDIUS_LOCKOUT_ATTEMPTS`` failed sign-ins of an account before its progressive delays  5
``MEDIUS_LOCKOUT_MINUTES`` longest sign-in delay (account and client)                  15
``MEDIUS_SIGNIN_CLIENT_ATTEMPTS`` failed sign-ins from one address before its delays   5
``MEDIUS_SIGNIN_HASHING``  password checks (Argon2, 64 MiB, 4 threads) run at once     1
``MEDIUS_SIGNIN_PROCESS``  ``1``: password checks in child processes at nice 10      1
                           (``0``: on the server's threads)
``MEDIUS_SESSION_HOURS``   idle time after which a session ends                        12
``MEDIUS_COOKIE_SECURE``   ``1``: always mark cookies Secure (behind an https proxy)    auto (https requests)
``MEDIUS_TRUSTED_HOSTS``   host names the app answers to (``Host`` header), commas   localhost,127.0.0.1,::1
                           (``*`` any; ``*.example.org`` subdomains); others: 400
``MEDIUS_WORKER``          ``0`` disables the in-app analysis worker                   1
``MEDIUS_WORKERS``         analyses run at once (worker threads, each one child)       min(4, CPU cores)
``MEDIUS_JOB_TIMEOUT_MIN`` an analysis running longer is stopped and fails             30
``MEDIUS_MAX_VIDEO_SECONDS`` longest accepted video (probe duration)                  600
``MEDIUS_MAX_FRAMES``      most frames (video) or samples (marker file) per upload     60000
=========================  ==========================================================  =====================
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from medius.errors import InvalidInputError, OutputError

__all__ = ["Settings", "default_data_dir", "load_secret_key"]


def default_data_dir() -> Path:
    """The platform's per-user data folder for medius (``~/.local/share/medius`` on Linux)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "medius"


def load_secret_key(data_dir: Path) -> str:
    """The app's secret key, generated on first use and kept in ``data_dir/secret_key`` (mode 0600)."""
    path = Path(data_dir) / "secret_key"
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".secret_key.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.encode("ascii"))
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise InvalidInputError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start. Build with :meth:`from_env` or directly in tests."""

    data_dir: Path
    database_url: str = ""
    secret_key: str = ""
    max_upload_bytes: int = 500 * 1024 * 1024
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    signin_client_attempts: int = 5
    signin_hashing: int = 1
    #: check passwords in low-priority child processes (False: on the server's own threads)
    signin_hash_process: bool = True
    session_hours: int = 12
    cookie_secure: bool | None = None  #: None: Secure when the request came over https
    worker_enabled: bool = True
    #: ``Host`` header values answered (``*``: any); :meth:`from_env` defaults to loopback names
    trusted_hosts: tuple[str, ...] = ("*",)
    #: analyses run at once by the in-app worker (threads, each running one child process)
    workers: int = 1
    #: an analysis running longer is stopped and its job fails
    job_timeout_s: float = 1800.0
    #: longest accepted video (s) and most frames (video) or samples (marker trial) per upload
    max_video_s: float = 600.0
    max_frames: int = 60_000
    #: seconds without a heartbeat after which a running job is taken to be orphaned
    stale_job_s: float = 60.0
    #: times a job is started before an interruption makes it fail for good
    max_job_attempts: int = 3
    #: longest side of the frames analysed and of the annotated video (px)
    max_side_px: int = 1280
    page_size: int = 25
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, data_dir: Path | None = None, **overrides: object) -> Settings:
        """Settings from the environment variables in the module table (``overrides`` win)."""
        base = Path(data_dir or os.environ.get("MEDIUS_DATA_DIR") or default_data_dir()).expanduser()
        secure_env = os.environ.get("MEDIUS_COOKIE_SECURE", "")
        settings = cls(
            data_dir=base,
            database_url=os.environ.get("DATABASE_URL", ""),
            max_upload_bytes=_env_int("MEDIUS_MAX_UPLOAD_MB", 500, minimum=1) * 1024 * 1024,
            lockout_attempts=_env_int("MEDIUS_LOCKOUT_ATTEMPTS", 5, minimum=1),
            lockout_minutes=_env_int("MEDIUS_LOCKOUT_MINUTES", 15, minimum=1),
            signin_client_attempts=_env_int("MEDIUS_SIGNIN_CLIENT_ATTEMPTS", 5, minimum=1),
            signin_hashing=_env_int("MEDIUS_SIGNIN_HASHING", 1, minimum=1),
            signin_hash_process=os.environ.get("MEDIUS_SIGNIN_PROCESS", "1") not in ("0", "false", "no"),
            session_hours=_env_int("MEDIUS_SESSION_HOURS", 12, minimum=1),
            cookie_secure=None if secure_env == "" else secure_env not in ("0", "false", "no"),
            worker_enabled=os.environ.get("MEDIUS_WORKER", "1") not in ("0", "false", "no"),
            trusted_hosts=tuple(
                h.strip()
                for h in (os.environ.get("MEDIUS_TRUSTED_HOSTS") or "localhost,127.0.0.1,::1").split(",")
                if h.strip()
            ),
            workers=_env_int("MEDIUS_WORKERS", min(4, os.cpu_count() or 1), minimum=1),
            job_timeout_s=60.0 * _env_int("MEDIUS_JOB_TIMEOUT_MIN", 30, minimum=1),
            max_video_s=float(_env_int("MEDIUS_MAX_VIDEO_SECONDS", 600, minimum=1)),
            max_frames=_env_int("MEDIUS_MAX_FRAMES", 60_000, minimum=1),
        )
        return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]

    def resolved(self) -> Settings:
        """Create the data folder; fill in the default database URL and the secret key."""
        data_dir = Path(self.data_dir).expanduser().absolute()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(data_dir, 0o700)
            (data_dir / "media").mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the data folder ({exc.strerror or exc})", path=data_dir
            ) from None
        url = self.database_url or f"sqlite:///{data_dir / 'medius.sqlite3'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        key = self.secret_key or load_secret_key(data_dir)
        return replace(self, data_dir=data_dir, database_url=url, secret_key=key)

    @property
    def media_dir(self) -> Path:
        """Uploads and results: never under a static mount, served only through authorised routes."""
        return Path(self.data_dir) / "media"
