"""`nonrecours keygen` writes a usable mode-600 key file and never overwrites one."""

from __future__ import annotations

from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.privacy import derive_pseudonym_key, load_secret


def test_keygen_writes_a_loadable_secret_once(tmp_path) -> None:
    path = tmp_path / "exchange.key"
    runner = CliRunner()
    first = runner.invoke(app, ["keygen", str(path)])
    assert first.exit_code == 0, first.output
    assert (path.stat().st_mode & 0o777) == 0o600
    secret_text = path.read_text().strip()
    assert secret_text not in first.output
    assert derive_pseudonym_key(load_secret(path), "ex", "p").key_id
    again = runner.invoke(app, ["keygen", str(path)])
    assert again.exit_code == 2 and path.read_text().strip() == secret_text
