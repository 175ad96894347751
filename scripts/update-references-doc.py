#!/usr/bin/env python
"""Rewrite the table of registry entries in docs/references.md from the registry files."""

from __future__ import annotations

import re
from pathlib import Path

from medius.registry import load_registry, registry_markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "references.md"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = registry_markdown_table(load_registry())
    pattern = re.compile(r"^\| id \| metric \|.*?(?=\n(?!\|)|\Z)", re.S | re.M)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no table starting with '| id | metric |' found")
    DOC.write_text(pattern.sub(lambda _: table.rstrip("\n"), text, count=1), encoding="utf-8")
    print(f"{DOC}: {len(load_registry().references)} entries")


if __name__ == "__main__":
    main()
