"""Input metadata: what a file beside an input says about where its data came from.

Any keypoint or marker input may have a JSON object beside it (in the same folder, or inside the
folder of an OpenPose JSON sequence) named :data:`INPUT_METADATA_FILE`. The analysis reads it
through :func:`read_input_metadata` for every input, whatever wrote it; the keys it uses:

``synthetic``
    ``true`` when the data was generated (``medius synth``, :mod:`medius.testing`): the result
    says ``"synthetic": true`` and every view labels it SYNTHETIC.
``ground_truth``, ``spec``
    for a synthetic input, the known answers and the generator's settings; the result carries
    them (``synthetic_ground_truth``, ``synthetic_spec``) so the report can compare.

The file name is the one ``medius synth`` has always written (existing demo folders and batch
sidecars keep working).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["INPUT_METADATA_FILE", "read_input_metadata", "synthetic_metadata"]

#: the metadata file beside (or inside the folder of) an input
INPUT_METADATA_FILE = "medius-synthetic.json"


def read_input_metadata(path: str | Path) -> dict[str, Any] | None:
    """The metadata object beside (or inside, for a folder) the input ``path``; None when there is
    none, it cannot be read, or it is not a JSON object."""
    p = Path(path)
    candidate = p / INPUT_METADATA_FILE if p.is_dir() else p.parent / INPUT_METADATA_FILE
    if not candidate.is_file():
        return None
    try:
        data = json.loads(candidate.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def synthetic_metadata(path: str | Path) -> dict[str, Any] | None:
    """The input metadata of ``path`` when it says the data is synthetic (``"synthetic": true``),
    else None."""
    data = read_input_metadata(path)
    return data if data is not None and data.get("synthetic") else None
