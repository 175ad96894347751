"""Draw the home program's exercise pictures and the filming guide's camera-placement pictures with
the rendered CC0 human of the validation harness (src/medius/report/static/exercises/*.png and
src/medius/report/static/filming/*.png).

    .venv/bin/python scripts/make_pictures.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from medius.validation.harness import _skeleton
from medius.validation.pictures import BODY, EXERCISE_PICTURES, FILMING_PICTURES, STATIC, render_pictures
from medius.validation.render import renderer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=STATIC, help="folder holding exercises/ and filming/")
    a = ap.parse_args()
    sk = _skeleton(BODY)
    with renderer() as new_page:
        for sub, pics in (("exercises", EXERCISE_PICTURES), ("filming", FILMING_PICTURES)):
            for path in render_pictures(pics, a.out / sub, new_page=new_page, sk=sk):
                print(path)


if __name__ == "__main__":
    main()
