"""Passwords, session tokens and CSRF tokens.

* Passwords are hashed with Argon2id (argon2-cffi defaults); a hash made with older parameters is
  replaced on the next successful sign-in.
* A session cookie holds 32 random bytes; the database keeps only their SHA-256, so a copy of the
  database does not let anyone sign in.
* Every session has its own CSRF token, checked on every state-changing request (form field
  ``csrf_token`` or header ``X-CSRF-Token``). The sign-in form, which comes before any session,
  uses a signed double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "check_login_csrf",
    "hash_password",
    "hash_token",
    "make_login_csrf",
    "new_token",
    "password_problem",
    "password_needs_rehash",
    "tokens_equal",
    "verify_password",
]

_hasher = PasswordHasher()
#: a hash verified when the e-mail is unknown, so both cases take the same time
_DUMMY_HASH = _hasher.hash("medius: not a password")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
_COMMON_FILE = Path(__file__).parent / "auth" / "common-passwords.txt"


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` is refused (NIST SP 800-63B 5.1.1.2), or None when it is acceptable.

    At least :data:`MIN_PASSWORD_LENGTH` characters (any characters, spaces included, up to
    :data:`MAX_PASSWORD_LENGTH`), not only spaces or a repeated character or two, not one of the
    common passwords shipped in ``auth/common-passwords.txt`` (1888 of Django's list, case
    ignored), and not the name part of the user's own e-mail address or the app's name.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    if len(set(password.strip())) < 3:
        return "the password is too simple (only spaces or a repeated character)"
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.strip() in _common_passwords():
        return "the password is one of the most common passwords; choose another"
    name = email.strip().lower().split("@")[0]
    if (len(name) >= 4 and name in lowered) or "medius" in lowered:
        return "the password must not contain your e-mail name or the app's name"
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password``."""
    return _hasher.hash(password)


def dummy_hash() -> str:
    """The hash verified in place of an unknown account's (same cost, never matches a password)."""
    return _DUMMY_HASH


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash costs the same time and returns False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a session token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="medius-login-csrf")


def make_login_csrf(secret_key: str) -> tuple[str, str]:
    """``(cookie value, form value)`` for the sign-in form's double-submit CSRF check."""
    raw = new_token()
    return _serializer(secret_key).dumps(raw), raw


def check_login_csrf(
    secret_key: str, cookie: str | None, form_value: str | None, *, max_age_s: int = 3600
) -> bool:
    """True when the signed cookie is genuine, fresh and carries the form's value."""
    if not cookie or not form_value:
        return False
    try:
        raw = _serializer(secret_key).loads(cookie, max_age=max_age_s)
    except BadSignature:
        return False
    return tokens_equal(str(raw), form_value)
