"""The Jinja2 environment of the report layer's HTML pages (one, built once per process).

Building an environment is cheap, but a fresh one compiles each template again on every page
(about 0.2 s for ``report.html.j2``, an eighth of a whole lab analysis); a shared environment
compiles each template once and reloads it only when its file changes. Jinja2 environments
are safe to render from several threads.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from medius.report._common import format_value

TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def template_environment() -> jinja2.Environment:
    """The environment (autoescaping, strict undefined, the ``num`` filter) for ``templates/``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_value
    return env
