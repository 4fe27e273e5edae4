"""A workspace tiled k times: k independent, identical copies of one ingested population, for scale runs.

Run: ``python benchmarks/tile_workspace.py --workspace RUN/workspace --copies 10 --out BIG/workspace``
(then ``detect_scale_bench.py`` on it). Building a territory of a million persons with ``synth`` costs over
80 CPU minutes on the shared machine; tiling a 100,000-person workspace ten times costs seconds, and gives a
population whose every detection result is known in advance: exactly ``k`` times the source's.

- **Ids.** Every identifier of every canonical table (person pseudonyms, famille, foyer fiscal and ménage ids:
  ``ID_COLUMNS``) is an HMAC pseudonym, 64 hexadecimal digits. Copy ``c`` adds ``c`` (mod 256) to its last byte
  (``c = 0``: the source itself), which keeps the order of a copy's ids (the core picks some by the smallest).
  The map is one function of the value, so a person or unit keeps one id across every table of its copy (the
  CAF's famille and ménage ids, which are one pseudonym, stay one); and it is injective across copies as long
  as no two ids of the source share their first 62 digits, which
  ``tile`` checks before writing (``PreconditionError``). A value that is not a pseudonym is an error naming
  the table and column, never tiled as it is (two copies would then share it).
- **Return tokens** (``return_tokens``: AES-SIV of an agency's record number) are made unique per copy the same
  way on their first two base64url characters (``c`` written in base 64: the first moves ``c mod 64`` places, the
  second ``c // 64``). The copies' tokens (``c > 0``) no longer open: this workspace is for detection, not for
  the outreach lists' way back. At most 256 copies (the pseudonyms' last byte).
- **Quarantine and ingest reports** are tiled too (``rows in = accepted + quarantined`` stays true): quarantined
  rows repeated with their line numbers shifted by the extract's rows read per copy, the reports' counts
  multiplied by ``k`` and marked ``tiled``.
- **Checks** (``check``), one copy in memory at a time so that they hold at 10 million persons: each file ``k``
  times the source's rows; each copy's rows equal to the source's retagged, and valid to the canonical table's
  own ``TableSpec.validate_frame`` (schema, required columns, bulk checks, key uniqueness); distinct ids and
  tokens ``k`` times the source's (counted on 64-bit hashes by the streaming engine: equal values hash equal, so
  the count can only err towards failing); and, with ``components=True``, the link graph of ``core.partition``
  (the households a partitioned run keeps together) has ``k`` times the source's components with the same
  sizes: no copy is linked to another.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.errors import NonRecoursError, SchemaError
from nonrecours.privacy import PSEUDONYM_PATTERN
from nonrecours.privacy.tokens import TOKEN_PATTERN
from nonrecours.schemas import TABLES, UNIDENTIFIED_MEMBERS, UNIDENTIFIED_NEIGHBOURS

__all__ = ["ID_COLUMNS", "MAX_COPIES", "PreconditionError", "check", "retag", "tile"]

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("person_id",),
    "unit_memberships": ("person_id", "unit_id"),
    "resources": ("person_id",),
    "annual_income": ("person_id",),
    "tax_households": ("unit_id",),
    "benefits_paid": ("unit_id", "person_id"),
    "benefit_receipts": ("person_id",),
    "listings": ("person_id",),
    "housing": ("menage_id",),
    "claims": ("unit_id", "person_id"),
    "opt_outs": ("person_id",),
    "return_tokens": ("person_id",),
    UNIDENTIFIED_MEMBERS: ("unit_id",),
}
"""The pseudonym columns of each table folder of a workspace."""
ID_LIST_COLUMNS: dict[str, tuple[str, ...]] = {UNIDENTIFIED_MEMBERS: (UNIDENTIFIED_NEIGHBOURS,)}
"""The columns of lists of pseudonyms of each table folder (a quarantined line's NIR neighbours): each element
retagged as an id column is."""
TOKEN_COLUMNS: dict[str, tuple[str, ...]] = {"return_tokens": ("return_token",)}
NOT_IDS = frozenset({"depcom", "extract_id", "agency", "return_key_id", "reason"})
"""String columns that name no person nor unit (the same in every copy)."""
QUARANTINE = "quarantine"
REPORTS = "reports"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAX_COPIES = 256
"""The pseudonyms' last byte takes 256 values (the tokens' first two characters, 4,096)."""
_COUNTED = ("declared_records", "return_tokens", "rows_accepted", "rows_quarantined", "rows_read", "faults",
            "tables", "unidentified_members")
"""Ingest report fields that count rows (multiplied by the copies)."""


class PreconditionError(NonRecoursError):
    """The source cannot be tiled without two copies sharing an id."""


def retag(expr: pl.Expr, copy: int) -> pl.Expr:
    """A pseudonym (64 hex digits) of copy ``copy``: its last byte plus ``copy``, mod 256 (null stays null).

    The last byte, so that the order of a copy's ids is the source's (two ids of the source differ before their
    last byte): what the core chooses by the smallest id (the head of a famille it builds, ``core-famille:`` +
    that person's id) is the same person in every copy."""
    if copy == 0:
        return expr
    shift = {f"{b:02x}": f"{(b + copy) % 256:02x}" for b in range(256)}
    return expr.str.slice(0, 62) + expr.str.slice(62).replace_strict(shift, return_dtype=pl.String)


def retag_token(expr: pl.Expr, copy: int) -> pl.Expr:
    """A return token of copy ``copy``: its first base64url character moved ``copy mod 64`` places along the
    alphabet and its second ``copy // 64`` places (copies 0 to 63 change the first character only)."""
    if copy == 0:
        return expr

    def moved(k: int) -> dict[str, str]:
        return {ch: _B64[(i + k) % len(_B64)] for i, ch in enumerate(_B64)}

    first, second = copy % len(_B64), copy // len(_B64)
    head = expr.str.slice(0, 1).replace_strict(moved(first), return_dtype=pl.String)
    nxt = expr.str.slice(1, 1)
    if second:
        nxt = nxt.replace_strict(moved(second), return_dtype=pl.String)
    return head + nxt + expr.str.slice(2)


def _files(workspace: Path) -> dict[str, list[Path]]:
    """The Parquet files of each table folder of ``workspace``; a folder the tiler does not know is an error, never
    left out (a table missing from every copy changes what detection sees: France Travail's RSA receipts, left
    out so, made 68 RSA payments of the France 100,000 read as non-take-up in each copy)."""
    known = {*ID_COLUMNS, QUARANTINE, REPORTS}
    unknown = sorted(p.name for p in workspace.iterdir() if p.is_dir() and p.name not in known) \
        if workspace.is_dir() else []
    if unknown:
        raise SchemaError("a workspace folder the tiler does not know: add its pseudonym columns to "
                          "tile_workspace.ID_COLUMNS", table=unknown[0])
    return {name: sorted((workspace / name).glob("*.parquet")) for name in (*ID_COLUMNS, QUARANTINE)
            if (workspace / name).is_dir()}


def _string_columns_known(name: str, schema: pl.Schema) -> None:
    known = set(ID_COLUMNS.get(name, ())) | set(TOKEN_COLUMNS.get(name, ())) | NOT_IDS
    lists = set(ID_LIST_COLUMNS.get(name, ()))
    for col, dtype in schema.items():
        if (dtype == pl.String and col not in known) or (dtype == pl.List(pl.String) and col not in lists):
            raise SchemaError("a text column neither tiled as an id nor known to name nobody: add it to "
                              "tile_workspace.ID_COLUMNS or NOT_IDS", table=name, column=col)


def _preconditions(files: dict[str, list[Path]], copies: int) -> dict[str, int]:
    """Every id a pseudonym, every token a token, and no two distinct values sharing what a copy keeps."""
    if not 1 <= copies <= MAX_COPIES:
        raise PreconditionError(f"copies must be between 1 and {MAX_COPIES}")
    ids, tokens = [], []
    for name, paths in files.items():
        if name == QUARANTINE:
            continue
        lf = pl.scan_parquet(paths)
        _string_columns_known(name, lf.collect_schema())
        for col in ID_COLUMNS[name]:
            ids.append(lf.select(pl.col(col).alias("v")).filter(pl.col("v").is_not_null()).with_columns(
                pl.lit(name).alias("table"), pl.lit(col).alias("column")))
        for col in ID_LIST_COLUMNS.get(name, ()):
            if col in lf.collect_schema():  # a workspace ingested before the column was kept has none
                ids.append(lf.select(pl.col(col).explode().alias("v")).filter(pl.col("v").is_not_null())
                           .with_columns(pl.lit(name).alias("table"), pl.lit(col).alias("column")))
        for col in TOKEN_COLUMNS.get(name, ()):
            tokens.append(lf.select(pl.col(col).alias("v")).filter(pl.col("v").is_not_null()).with_columns(
                pl.lit(name).alias("table"), pl.lit(col).alias("column")))
    counts = {}
    for kind, frames, pattern, kept in (("ids", ids, PSEUDONYM_PATTERN, 2), ("tokens", tokens, TOKEN_PATTERN, 2)):
        if not frames:
            counts[kind] = 0
            continue
        values = pl.concat(frames).collect()
        bad = values.filter(~pl.col("v").str.contains(pattern))
        if bad.height:  # the value itself is never shown (it is a pseudonym or a token)
            table, column = bad.row(0)[1:]
            raise SchemaError(f"not a {kind[:-1]} of the expected shape: cannot be made unique per copy",
                              table=table, column=column)
        rest = pl.col("v").str.slice(0, 62) if kind == "ids" else pl.col("v").str.slice(kept)
        distinct = values.select(pl.col("v").n_unique().alias("all"), rest.n_unique().alias("rest")).row(0)
        if copies > 1 and distinct[0] != distinct[1]:
            where = "last 2" if kind == "ids" else "first 2"
            raise PreconditionError(f"two {kind} of the source differ only in their {where} characters: "
                                    "their copies could collide")
        counts[kind] = distinct[0]
    return counts


def _copy(lf: pl.LazyFrame, name: str, c: int) -> pl.LazyFrame:
    """Copy ``c`` of a table's rows: every id and token retagged."""
    cols = [retag(pl.col(col), c).alias(col) for col in ID_COLUMNS[name]]
    cols += [pl.col(col).list.eval(retag(pl.element(), c)).alias(col) for col in ID_LIST_COLUMNS.get(name, ())
             if col in lf.collect_schema()]
    cols += [retag_token(pl.col(col), c).alias(col) for col in TOKEN_COLUMNS.get(name, ())]
    return lf.with_columns(cols) if cols else lf


def _tiled(lf: pl.LazyFrame, name: str, copies: int) -> pl.LazyFrame:
    return pl.concat([_copy(lf, name, c) for c in range(copies)])


def _report(report: dict[str, Any], copies: int, source: Path) -> dict[str, Any]:
    def times(v: Any) -> Any:
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int):
            return v * copies
        if isinstance(v, dict):
            return {k: times(x) for k, x in v.items()}
        return v

    return {**{k: (times(v) if k in _COUNTED else v) for k, v in report.items()},
            "tiled": {"copies": copies, "source": str(source)}}


def tile(source: str | Path, out: str | Path, copies: int) -> dict[str, Any]:
    """``source`` (a workspace folder) written ``copies`` times into ``out`` (which must not exist), each copy's
    ids made its own; returns the rows and distinct ids of the source and the seconds taken."""
    source, out = Path(source), Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists: tiling writes a new workspace")
    started = time.perf_counter()
    files = _files(source)
    if "persons" not in files or "unit_memberships" not in files:
        raise SchemaError("not a workspace: no persons or unit_memberships table", table=str(source.name))
    distinct = _preconditions(files, copies)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    rows: dict[str, int] = {}
    read = {}
    for rp in sorted((source / REPORTS).glob("*.json")) if (source / REPORTS).is_dir() else []:
        report = json.loads(rp.read_text(encoding="utf-8"))
        read[rp.stem] = int(report.get("rows_read") or 0)
        (staging / REPORTS).mkdir(parents=True, exist_ok=True)
        (staging / REPORTS / rp.name).write_text(json.dumps(_report(report, copies, source), indent=2,
                                                            sort_keys=True) + "\n", encoding="utf-8")
    for name, paths in files.items():
        (staging / name).mkdir(parents=True, exist_ok=True)
        for path in paths:
            lf = pl.scan_parquet(path)
            if name == QUARANTINE:  # the lines of copy c follow the extract's rows of copies 0..c-1
                step = read.get(path.stem) or int(lf.select(pl.col("line").max()).collect().item() or 0)
                lf = pl.concat([lf.with_columns(pl.col("line") + c * step) for c in range(copies)])
            else:
                lf = _tiled(lf, name, copies)
            lf.sink_parquet(staging / name / path.name)
            rows[f"{name}/{path.name}"] = pl.scan_parquet(path).select(pl.len()).collect().item()
    staging.rename(out)
    return {"copies": copies, "source": str(source), "out": str(out), "source_rows": rows,
            "source_distinct": distinct, "seconds": round(time.perf_counter() - started, 2)}


def _component_sizes(workspace: Path, folder: Path) -> pl.DataFrame:
    from nonrecours.core import Partitions
    from nonrecours.core.workspace import scan_workspace

    parts = Partitions(scan_workspace(workspace), 1, folder)
    return (pl.read_parquet(parts.path).group_by("component").len().group_by("len").agg(pl.len().alias("n"))
            .sort("len"))


def _distinct_hashes(files: dict[str, list[Path]]) -> dict[str, int]:
    """Distinct ids and tokens of a workspace's tables, counted on their 64-bit hashes by the streaming engine
    (8 bytes a value, never the rows): equal values hash equal, so a collision can only lower the count."""
    counts = {}
    for kind, columns in (("ids", ID_COLUMNS), ("tokens", TOKEN_COLUMNS)):
        frames = [pl.scan_parquet(paths).filter(pl.col(col).is_not_null()).select(pl.col(col).hash(seed=0).alias("h"))
                  for name, paths in files.items() if name != QUARANTINE for col in columns.get(name, ())]
        if kind == "ids":  # the elements of the lists of ids too, as ``_preconditions`` counts them
            frames += [pl.scan_parquet(paths).select(pl.col(col).explode().alias("v")).filter(pl.col("v").is_not_null())
                       .select(pl.col("v").hash(seed=0).alias("h"))
                       for name, paths in files.items() if name != QUARANTINE
                       for col in ID_LIST_COLUMNS.get(name, ()) if col in pl.scan_parquet(paths).collect_schema()]
        counts[kind] = int(pl.concat(frames).select(pl.col("h").n_unique()).collect(engine="streaming").item()) \
            if frames else 0
    return counts


def check(source: str | Path, tiled: str | Path, copies: int, *, components: bool = False) -> dict[str, Any]:
    """The tiled workspace against its source (module docstring); raises on the first failure, else returns
    what was checked. One copy of a table is in memory at a time."""
    source, tiled = Path(source), Path(tiled)
    out: dict[str, Any] = {"tables_validated": [], "files": 0, "copies_compared": 0}
    for name, paths in _files(source).items():
        for path in paths:
            got = tiled / name / path.name
            n_src = pl.scan_parquet(path).select(pl.len()).collect().item()
            n_new = pl.scan_parquet(got).select(pl.len()).collect().item()
            if n_new != copies * n_src:
                raise NonRecoursError(f"{name}/{path.name}: {n_new} rows, not {copies} × {n_src}")
            out["files"] += 1
        if name == QUARANTINE:
            continue
        sources = {path.name: pl.read_parquet(path) for path in paths}  # a source's tables are small: read once
        for c in range(copies):
            copy = {}
            for file, src in sources.items():
                copy[file] = pl.scan_parquet(tiled / name / file).slice(c * src.height, src.height).collect()
                if not copy[file].equals(_copy(src.lazy(), name, c).collect()):
                    raise NonRecoursError(f"{name}/{file}: copy {c} is not the source retagged")
            if name in TABLES:
                TABLES[name].validate_frame(pl.concat(list(copy.values())))
            out["copies_compared"] += 1
        if name in TABLES:
            out["tables_validated"].append(name)
    before = _preconditions(_files(source), 1)
    after = _distinct_hashes(_files(tiled))
    for kind in before:
        if after[kind] != copies * before[kind]:
            raise NonRecoursError(f"{after[kind]} distinct {kind}, not {copies} × {before[kind]}")
    out["distinct"] = {"source": before, "tiled": after}
    if components:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            src = _component_sizes(source, Path(tmp) / "source")
            new = _component_sizes(tiled, Path(tmp) / "tiled")
        expected = src.with_columns(pl.col("n") * copies)
        if not new.equals(expected):
            raise NonRecoursError("the tiled link graph's components are not the source's, copies times")
        out["components"] = {"source": int(src["n"].sum()), "tiled": int(new["n"].sum()),
                             "largest": int(src["len"].max() or 0)}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, required=True, help="the source workspace folder")
    ap.add_argument("--copies", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True, help="the tiled workspace folder (must not exist)")
    ap.add_argument("--components", action="store_true",
                    help="also check the link graph's components (core.partition), copies times the source's")
    ap.add_argument("--report", type=Path, help="where to write the tiling's figures and checks (JSON)")
    args = ap.parse_args(argv)
    done = tile(args.workspace, args.out, args.copies)
    started = time.perf_counter()
    done["checks"] = check(args.workspace, args.out, args.copies, components=args.components)
    done["check_seconds"] = round(time.perf_counter() - started, 2)
    text = json.dumps(done, indent=2)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    print(text, file=sys.stderr)
    return done


if __name__ == "__main__":
    main()
