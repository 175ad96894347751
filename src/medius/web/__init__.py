"""The clinic web app of medius (an edge: the library never imports it).

``create_app(settings)`` builds the FastAPI app; ``medius serve`` runs it. See docs/web.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medius.web.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None, **kw: Any) -> FastAPI:  # re-export, imported lazily
    """Build the web app (see :func:`medius.web.app.create_app`)."""
    from medius.web.app import create_app as _create_app

    return _create_app(settings, **kw)
