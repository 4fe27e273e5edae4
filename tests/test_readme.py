"""The README's notebook example runs as written (documentation that cannot rot silently)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    assert "venv" in blocks[0] and "nonrecours demo" in blocks[0]
    assert "pytest" in blocks[1]


def test_notebook_example_runs(tmp_path, monkeypatch, capsys):
    code = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)[0]
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("20_000", "2_000"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "salary_net" in out or "pension_net" in out
    assert (tmp_path / "territory" / "truth" / "resources.parquet").exists()
