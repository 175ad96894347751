"""Real sample recordings that ship inside registry packages (nothing is downloaded at run time).

``sports2d`` (BSD-3-Clause, https://pypi.org/project/sports2d/) ships ``Sports2D/Demo/demo.mp4``:
1768×994 VP9, 30 fps, 230 frames, filmed outdoors. A man faces the camera on a roof doing jumping
jacks while a woman walks past in the foreground, seen from the side. medius installs the wheel
as data only (its own analysis stack is not installed) and uses the clip for ``make demo``, the
metamorphic video tests and the benchmarks.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from medius.errors import InputNotFoundError

__all__ = ["SAMPLES", "sample_path"]

#: name -> (distribution, path inside it, licence)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "sports2d-demo": ("sports2d", "Sports2D/Demo/demo.mp4", "BSD-3-Clause"),
}


def sample_path(name: str = "sports2d-demo") -> Path:
    """Path of a bundled sample recording; a clear error if its package is not installed."""
    if name not in SAMPLES:
        raise InputNotFoundError(f"unknown sample {name!r}; known: {', '.join(SAMPLES)}")
    dist, rel, _ = SAMPLES[name]
    try:
        path = Path(str(metadata.distribution(dist).locate_file(rel)))
    except metadata.PackageNotFoundError:
        raise InputNotFoundError(
            f"sample {name!r} needs the {dist!r} package (run `make install` or `uv sync`)"
        ) from None
    if not path.is_file():
        raise InputNotFoundError(f"sample {name!r} not found in the installed {dist!r} package", path=path)
    return path
