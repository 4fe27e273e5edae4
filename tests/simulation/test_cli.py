"""`nonrecours simulate`: JSON on stdout, errors on stderr, the other situations still computed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nonrecours.cli import app

SIT = {"id": "c1", "month": "2025-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 400},
       "persons": [{"role": "parent", "age": 40}]}


def test_simulate_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cases.json"
    bad = dict(SIT, id="c2", housing={"status": "tent"})
    path.write_text(json.dumps({"cases": [{"situation": SIT, "expected": {}}, {"situation": bad}]}),
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 3, result.output  # a situation failed: the computed ones are still written
    out = json.loads(result.stdout)
    assert [r["id"] for r in out] == ["c1"]
    # no benefits_paid: the housing aid is computed (zone 3, R = 0: 269.32 + 59.97 - 39.15 - 5 € - CRDS 1.42,
    # rounded down: 283 €) and the RSA deducts its housing forfait (646.52 - 77.58)
    assert out[0]["aide_logement"] == 283.0
    assert out[0]["rsa"] == 568.94 and out[0]["css_free"] is True
    assert json.loads(result.stderr.split("nonrecours: error:")[0])["errors"][0]["field"] == "housing.status"
    assert "1 of 2 situations could not be computed" in result.stderr


def test_simulate_rejects_unknown_backend_and_bad_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([SIT]), encoding="utf-8")
    assert CliRunner().invoke(app, ["simulate", str(path), "--backend", "sparks"]).exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    assert CliRunner().invoke(app, ["simulate", str(broken)]).exit_code == 3


def test_a_file_of_no_situation_gives_an_empty_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``[]`` and ``{"cases": []}``: nothing to compute, an empty list and exit 0 (the bulk loader's checks read sums
    over no row: a TypeError, exit 1; found probing the format from its document, 5 December 2026)."""
    for name, text in (("list.json", "[]"), ("cases.json", '{"cases": []}')):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(app, ["simulate", str(path)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []
