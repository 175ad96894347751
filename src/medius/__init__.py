"""medius: local-first movement screening for the hip side of knee pain.

Layers (each a package, each importing only the ones before it)::

    io -> pose -> kinematics -> events -> protocols -> clinic -> report -> (cli, web, batch)

``medius.errors`` and ``medius.registry`` (reference data with citations) sit below them all.
The library never imports the edges (``medius.cli``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medius")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
