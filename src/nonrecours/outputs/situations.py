"""The OpenFisca situations of an outreach list (``openfisca/<agency>.jsonl`` beside ``outreach_<agency>``): written
from detection's ``situations.parquet`` (``simulation.export_openfisca.SITUATIONS_SCHEMA``) in the list's order,
and read back for one row (``nonrecours outreach situation``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import atomic_path
from nonrecours.errors import SchemaError

__all__ = ["read_situation", "situation_entries", "write_situations"]


def _situation_entry(prefix: str) -> pl.Expr:
    """``<prefix>"month":"YYYY-MM","benefits":[...],"famille":"f0","situation":{...}`` of a situations row."""
    benefits = pl.concat_str(pl.lit("["), pl.col("benefits").list.eval(
        pl.concat_str(pl.lit('"'), pl.element(), pl.lit('"'))).list.join(","), pl.lit("]"))
    return pl.concat_str(pl.lit(f'{prefix}"month":"'), pl.col("month").dt.strftime("%Y-%m"),
                         pl.lit('","benefits":'), benefits, pl.lit(',"famille":"'), "famille",
                         pl.lit('","situation":'), "situation")


def write_situations(rows: pl.DataFrame, situations: pl.DataFrame, path: str | Path) -> Path:
    """``path`` (JSON Lines, atomically): for each row of an outreach list (``claimant_id``, ``situation_id``)
    that has a situation, in the list's order, ``{"situation_id", "month", "benefits", "famille", "situation"}``;
    POST ``situation`` to ``/calculate`` and read ``benefits`` at ``familles[famille]`` for ``month`` (its year for
    the ARS and the chèque énergie). That situation is the latest month the row's flags were judged at (the
    evaluated month, or for a row whose flags are all a yearly benefit judged on the payment due, that month); a
    row with flags judged at both has the earlier month's in ``"earlier": [{"month", "benefits", "famille",
    "situation"}]``. The claimant's pseudonym stays out: the line is found by the row's ``situation_id`` alone."""
    lines = (rows.select("claimant_id", "situation_id").drop_nulls("situation_id")
             .with_row_index("_row")
             .join(situations, on="claimant_id", how="left"))
    missing = lines.get_column("situation").null_count()
    if missing:
        raise ValueError(f"{Path(path).name}: {missing} rows have a situation_id but no situation")
    latest = pl.col("month") == pl.col("month").max().over("_row")
    earlier = (lines.filter(~latest).sort("_row", "month").group_by("_row", maintain_order=True)
               .agg((_situation_entry("{").str.join("},") + pl.lit("}")).alias("_earlier")))
    first = lines.filter(latest).join(earlier, on="_row", how="left").sort("_row")
    text = first.select(pl.concat_str(
        pl.lit('{"situation_id":"'), "situation_id", _situation_entry('",'),
        pl.when(pl.col("_earlier").is_not_null())
        .then(pl.concat_str(pl.lit(',"earlier":['), "_earlier", pl.lit("]"))).otherwise(pl.lit("")),
        pl.lit("}\n"))).to_series()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(text.to_list()), encoding="utf-8")
    return path


def situation_entries(list_path: str | Path, situation_id: str) -> list[dict[str, Any]]:
    """The situations of a row of an outreach list, from ``openfisca/<agency>.jsonl`` beside the list
    (``outreach_<agency>.csv`` or ``.parquet``): each ``{"month", "benefits", "famille", "situation"}``, the latest
    month first (``write_situations``: a row with flags judged at two months has two)."""
    list_path = Path(list_path)
    agency = list_path.stem.removeprefix("outreach_")
    source = list_path.parent / "openfisca" / f"{agency}.jsonl"
    if not list_path.stem.startswith("outreach_") or not source.exists():
        raise SchemaError(f"no OpenFisca situations beside this list (expected openfisca/{agency}.jsonl)",
                          table=list_path.name)
    with source.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if line.startswith(f'{{"situation_id":"{situation_id}"'):
                row = json.loads(line)
                if row.get("situation_id") != situation_id:
                    raise SchemaError("malformed line", table=source.name, row=n)
                keys = ("month", "benefits", "famille", "situation")
                return [{k: row.get(k) for k in keys}, *row.get("earlier", [])]
    raise SchemaError(f"no situation {situation_id} (a row without situation_id has none: its famille spans "
                      "several dwellings)", table=source.name, column="situation_id")


def read_situation(list_path: str | Path, situation_id: str, month: str | None = None) -> tuple[str, dict[str, Any]]:
    """(famille key, situation) of a row of an outreach list (``situation_entries``): what ``nonrecours outreach
    situation`` prints to replay it; ``month`` ("YYYY-MM"): the row's situation of that month (a yearly benefit
    judged on the payment due, the ARS of last August), else the latest."""
    entries = situation_entries(list_path, situation_id)
    chosen = [e for e in entries if month is None or e["month"] == month][:1]
    if not chosen:
        raise SchemaError(f"no situation of {month} for {situation_id} (it has "
                          f"{', '.join(str(e['month']) for e in entries)})", table=Path(list_path).name,
                          column="situation_id")
    return chosen[0]["famille"], chosen[0]["situation"]
