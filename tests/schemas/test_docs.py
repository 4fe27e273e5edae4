"""docs/data-model.md documents every column of every canonical table."""

from __future__ import annotations

from pathlib import Path

from nonrecours.schemas import TABLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def test_every_table_and_column_is_documented():
    text = DOC.read_text()
    for name, spec in TABLES.items():
        section = text.split(f"## {name}\n", 1)
        assert len(section) == 2, f"no section for {name}"
        body = section[1].split("\n## ", 1)[0]
        for column in spec.schema:
            assert f"| `{column}` |" in body, f"{name}.{column} undocumented"
