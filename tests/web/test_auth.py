"""Sign-in, sessions, lock-out, roles and CSRF (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from medius.web import messages
from medius.web.models import AuthSession, User, utcnow
from tests.web.conftest import PASSWORD, Browser, new_patient


def test_pages_need_sign_in_and_api_answers_401(app):
    b = Browser(app)
    r = b.get("/patients/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fpatients%2Fnew"
    r = b.get("/api/patients")
    assert r.status_code == 401 and r.json()["detail"] == messages.NOT_SIGNED_IN


def test_sign_in_sets_a_secure_session_cookie_and_returns_to_next(app):
    b = Browser(app)
    r = b.client.post(
        "/login",
        data={
            "email": "DOC@north.example ",
            "clinic": " North Clinic",  # the clinic's name works too (letter case and spaces ignored)
            "password": PASSWORD,
            "next": "/patients/new",
            "csrf_token": b.login_form_token(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/patients/new"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("medius_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    with app.state.sessionmaker() as db:  # only the token's hash is stored
        stored = db.scalars(select(AuthSession.token_hash)).all()
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token not in stored and len(stored) == 1


def test_cookie_is_secure_over_https(app):
    b = Browser(app, base_url="https://testserver")
    r = b.sign_in("doc@north.example")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("medius_session="))
    assert "Secure" in cookie


def test_next_never_leaves_the_site(app):
    b = Browser(app)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = b.client.post(
            "/login",
            data={
                "email": "doc@north.example",
                "clinic": "north-clinic",
                "password": PASSWORD,
                "next": target,
                "csrf_token": b.login_form_token(),
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/patients"


def test_wrong_password_and_unknown_user_give_the_same_answer(app):
    b = Browser(app)
    r1 = b.sign_in("doc@north.example", "wrong password!")
    r2 = b.sign_in("nobody@north.example", "wrong password!", clinic="north-clinic")
    assert r1.status_code == r2.status_code == 401
    assert messages.SIGN_IN_FAILED in r1.text and messages.SIGN_IN_FAILED in r2.text


def test_account_delays_hold_a_stranger_but_not_the_clinicians_own_browser(app):
    own = Browser(app)
    assert own.sign_in("doc@north.example").status_code == 303  # this browser is now known
    stranger = Browser(app)
    for _ in range(5):
        assert stranger.sign_in("doc@north.example", "wrong password!").status_code == 401
    with app.state.sessionmaker() as db:
        user = db.scalars(select(User).where(User.email == "doc@north.example")).one()
        # progressive: the 5th failure holds the account 1 s (then 2 s, 4 s ... up to 15 min), not 15 min
        assert user.failed_logins == 5
        assert user.locked_until is not None and user.locked_until - utcnow() <= timedelta(seconds=1)
        db.execute(
            update(User).where(User.id == user.id).values(locked_until=utcnow() + timedelta(minutes=10))
        )
        db.commit()
    # held: even the right password is refused from a browser that never signed in to the account
    assert Browser(app).sign_in("doc@north.example").status_code == 401
    # the clinician's own browser is not held by a stranger's failures
    assert own.sign_in("doc@north.example").status_code == 303
    with app.state.sessionmaker() as db:
        user = db.scalars(select(User).where(User.email == "doc@north.example")).one()
        assert user.failed_logins == 0 and user.locked_until is None


def test_account_delay_doubles_up_to_the_cap(make_app):
    from tests.web.conftest import add_user

    a = make_app(lockout_attempts=2, lockout_minutes=1)
    add_user(a, "x@north.example")
    b = Browser(a)
    delays = []
    for i in range(9):
        with a.state.sessionmaker() as db:  # let each try through, to see the delay it sets
            db.execute(update(User).values(locked_until=None))
            db.commit()
        b.sign_in("x@north.example", f"bad password {i}")
        with a.state.sessionmaker() as db:
            held = db.scalars(select(User.locked_until)).one()
            delays.append(None if held is None else round((held - utcnow()).total_seconds()))
    assert delays == [None, 1, 2, 4, 8, 16, 32, 60, 60]
    assert b.sign_in("x@north.example").status_code == 401  # held now


def test_per_client_throttle_answers_429_without_checking_the_password(make_app):
    from tests.web.conftest import add_user

    a = make_app(signin_client_attempts=3)
    add_user(a, "x@north.example")
    b = Browser(a)
    for i in range(3):
        assert b.sign_in(f"nobody{i}@north.example", "wrong password!").status_code == 401
    r = b.client.get("/login")  # the address must wait first: a small page, no form
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins from this address" in r.text and "csrf_token" not in r.text
    r = b.client.post(  # even the right password
        "/login", data={"email": "x@north.example", "password": PASSWORD, "csrf_token": "stale"}
    )
    assert r.status_code == 429 and "Too many failed sign-ins from this address" in r.text
    with a.state.sessionmaker() as db:  # the account was not touched
        assert db.scalars(select(User.failed_logins)).one() == 0
    a.state.signin_throttle.record_success("testclient")  # (the wait is over)
    assert b.sign_in("x@north.example").status_code == 303


def test_sign_in_form_without_its_csrf_token_is_refused(app):
    b = Browser(app)
    r = b.client.post(
        "/login", data={"email": "doc@north.example", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403 and "CSRF" in r.text
    b.login_form_token()  # the cookie is set, but a forged form value does not match it
    r = b.client.post(
        "/login",
        data={"email": "doc@north.example", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_sign_out_ends_the_session(north):
    old_cookie = north.client.cookies.get("medius_session")
    r = north.form("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert north.get("/api/me").status_code == 401
    north.client.cookies.set("medius_session", old_cookie)  # replaying the old cookie does not work either
    assert north.get("/api/me").status_code == 401


def test_expired_session_is_refused(app, north):
    with app.state.sessionmaker() as db:
        db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert north.get("/api/me").status_code == 401


def test_admin_creates_clinicians_in_their_own_clinic(app):
    admin = Browser(app)
    admin.sign_in("admin@north.example")
    r = admin.api(
        "POST",
        "/api/users",
        json={"email": "new@north.example", "password": "long enough pw", "name": "New", "role": "clinician"},
    )
    assert r.status_code == 201 and r.json()["clinic_id"] == admin.get("/api/me").json()["clinic_id"]
    r = admin.api("POST", "/api/users", json={"email": "new@north.example", "password": "long enough pw"})
    assert r.status_code == 409 and r.json()["detail"] == messages.EMAIL_TAKEN
    r = admin.api("POST", "/api/users", json={"email": "short@north.example", "password": "short"})
    assert r.status_code == 422
    # the page form too
    r = admin.form("/users", {"email": "page@north.example", "password": "long enough pw", "role": "admin"})
    assert r.status_code == 303
    assert Browser(app).sign_in("page@north.example", "long enough pw").status_code == 303
    assert Browser(app).sign_in("new@north.example", "long enough pw").status_code == 303


def test_clinicians_cannot_create_users(north):
    r = north.api("POST", "/api/users", json={"email": "x@north.example", "password": "long enough pw"})
    assert r.status_code == 403 and r.json()["detail"] == messages.ADMIN_ONLY
    assert north.get("/users").status_code == 403


def test_security_headers_on_every_page(north):
    r = north.get("/patients")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_api_me_and_csrf_token_per_session(app, north):
    other = Browser(app)
    other.sign_in("doc@north.example")
    assert other.csrf != north.csrf  # a token per session
    # one session's token does not work with another session
    r = other.client.post("/api/patients", json={"family_name": "X"}, headers={"X-CSRF-Token": north.csrf})
    assert r.status_code == 403
    assert new_patient(other)["family_name"] == "Doe"
