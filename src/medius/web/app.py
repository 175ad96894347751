"""The clinic web app: ``create_app(settings)`` builds a FastAPI application.

Pages (Jinja2, autoescaped) and a JSON API (``/api``, OpenAPI at ``/api/openapi.json``) share the
feature services. Building the app applies the Alembic migrations; the lifespan starts and stops
the analysis worker thread.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medius import __version__
from medius.web import messages
from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database
from medius.web.deps import CurrentUser, NotSignedIn, render
from medius.web.media.jobs import JobQueue, Runner
from medius.web.settings import Settings

__all__ = ["create_app"]

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _host_of(header: str) -> str:
    """The host name of a ``Host`` header, without the port (``[::1]:8000`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHosts:
    """Answers 400 to a request whose ``Host`` header is not one of ``MEDIUS_TRUSTED_HOSTS``
    (``*`` allows any; ``*.example.org`` any subdomain). Plain ASGI: no overhead."""

    def __init__(self, app: ASGIApp, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in hosts
        self.exact = {h.lower() for h in hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in hosts if h.startswith("*."))

    def allowed(self, host: str) -> bool:
        return self.any or host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.any:
            raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not self.allowed(_host_of(raw)):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Invalid host header"})
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds CSP, no-sniff, frame and referrer headers to every response (plain ASGI: no overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", CSP.encode()),
                ]
                if not scope["path"].startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


#: request bodies that are the clinic library's own models (``openapi_extra={"x-medius-body-schema": name}``)
_LIBRARY_MODELS = {
    "Assessment": ("medius.clinic.records", "Assessment"),
    "Program": ("medius.clinic.program", "Program"),
}


def _add_library_schemas(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the JSON bodies that the clinic library validates with the library's own models
    (``ClinicAssessment``, ``ClinicProgram`` and their parts), when the library is installed."""
    import importlib

    from medius.web import clinical

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            name = op.pop("x-medius-body-schema", None) if isinstance(op, dict) else None
            if name is None or not clinical.available():
                continue
            module, attr = _LIBRARY_MODELS[name]
            model = getattr(importlib.import_module(module), attr)
            js = model.model_json_schema(ref_template="#/components/schemas/Clinic{model}")
            for key, sub in js.pop("$defs", {}).items():
                components.setdefault(f"Clinic{key}", sub)
            components[f"Clinic{name}"] = js
            op["requestBody"] = {
                "required": True,
                "description": f"the clinic library's {name} JSON (medius.clinic)",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/Clinic{name}"}}},
            }
    return schema


SWAGGER = HERE / "api" / "swagger"
_SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "init.js": "text/javascript",
}
_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>medius clinic API</title>
<meta name="csrf-token" content="{csrf}">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/init.js"></script></body></html>
"""


def _add_api_docs(app: FastAPI) -> None:
    """The OpenAPI schema and Swagger UI, for signed-in users only, from files shipped in the
    package (``api/swagger``: no CDN, so it works offline and under the app's CSP)."""
    from fastapi.responses import FileResponse, HTMLResponse


    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi_json(principal: CurrentUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(principal: CurrentUser) -> HTMLResponse:
        return HTMLResponse(_DOCS_PAGE.format(csrf=html.escape(principal.csrf_token)))

    @app.get("/api/docs/assets/{name}", include_in_schema=False)
    def api_docs_asset(name: str, principal: CurrentUser) -> Response:
        if name not in _SWAGGER_FILES:
            raise HTTPException(404, messages.NOT_FOUND)
        return FileResponse(
            SWAGGER / name,
            media_type=_SWAGGER_FILES[name],
            headers={"Cache-Control": "private, max-age=3600"},
        )


def create_app(settings: Settings | None = None, *, runner: Runner | None = None) -> FastAPI:
    """The web app for ``settings`` (default: from the environment); migrates the database first."""
    settings = (settings or Settings.from_env()).resolved()
    engine = create_db_engine(settings.database_url)
    upgrade_database(engine)
    factory = make_sessionmaker(engine)
    jobs = JobQueue(factory, settings, runner=runner)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.worker_enabled:
            jobs.start()
        try:
            yield
        finally:
            jobs.stop()
            app.state.signin_throttle.close()
            engine.dispose()

    app = FastAPI(
        title="medius clinic",
        version=__version__,
        description="Clinic web app of medius: patients, visits, movement analyses, assessments, programs. "
        "Authenticate by signing in (session cookie); send the CSRF token from `GET /api/me` in the "
        "`X-CSRF-Token` header of every state-changing request.",
        openapi_url=None,  # served below, to signed-in users only
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.jobs = jobs
    from medius.web.auth.throttle import SignInThrottle

    app.state.signin_throttle = SignInThrottle(
        free_failures=settings.signin_client_attempts,
        max_delay_s=settings.lockout_minutes * 60.0,
        hashing=settings.signin_hashing,
        hash_process=settings.signin_hash_process,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True
    templates.env.auto_reload = False  # the templates ship with the package: no stat() per page
    templates.env.globals.update(version=__version__, quote=quote)
    from medius.report._common import format_value

    templates.env.filters["num"] = format_value
    app.state.templates = templates

    from medius.web.auth.throttle import SignInGate

    # innermost of the plain ASGI layers (the security headers wrap its answers), before routing
    app.add_middleware(
        SignInGate,
        throttle=app.state.signin_throttle,
        message=messages.SIGN_IN_THROTTLED,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHosts, hosts=settings.trusted_hosts)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from medius.web.api.routes import router as api_router
    from medius.web.auth.admin import api as users_api
    from medius.web.auth.admin import router as users_router
    from medius.web.auth.views import router as auth_router
    from medius.web.clinical_views import api as clinical_api
    from medius.web.clinical_views import router as clinical_router
    from medius.web.media.views import api as media_api
    from medius.web.media.views import router as media_router
    from medius.web.media.views import warm_up
    from medius.web.patients.views import router as patients_router
    from medius.web.results.views import api as results_api
    from medius.web.results.views import router as results_router
    from medius.web.visits.views import router as visits_router

    warm_up()
    for r in (
        auth_router,
        users_router,
        users_api,
        patients_router,
        visits_router,
        media_router,
        results_router,
        clinical_router,
        api_router,
        media_api,
        results_api,
        clinical_api,
    ):
        app.include_router(r)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _add_library_schemas(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    _add_api_docs(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": messages.NOT_SIGNED_IN}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(
            request, "error.html", {"message": str(exc.detail), "back": ""}, status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"detail": errors}, status_code=422)
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors)
        return render(
            request, "error.html", {"message": f"Invalid form: {text}", "back": ""}, status_code=422
        )

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return render(
            request, "error.html", {"message": str(exc.detail), "back": ""}, status_code=exc.status_code
        )

    return app
