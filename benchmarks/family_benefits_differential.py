"""PAJE allocation de base, ASF and complément familial against OpenFisca-France 176.1.8 on fresh generated situations.

Run: ``python benchmarks/family_benefits_differential.py [--n 400] [--seed 1100] [--out FILE]`` (default
FILE: benchmarks/results/family_benefits_differential.json).

They have no ``simulate`` field (SITUATION_FORMAT.md names none), so the differential harness of
``nonrecours.simulation.differential`` does not compare them: this script exports the same generated
situations (``generate_situations``) without paid benefits, lets OpenFisca compute ``paje_base``, ``asf`` and
``cf`` of the evaluated month, and compares them with our ``paje_base_droit``, ``asf_droit`` and ``cf`` within 1
euro, overall and where OpenFisca pays.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)

import polars as pl  # noqa: E402
from tests.oracle.environment import ensure_oracle, run_oracle  # noqa: E402

from nonrecours.engine import evaluate  # noqa: E402
from nonrecours.engine.inputs import Inputs  # noqa: E402
from nonrecours.simulation import load_situations  # noqa: E402
from nonrecours.simulation.differential import generate_situations  # noqa: E402
from nonrecours.simulation.export_openfisca import export_situations  # noqa: E402
from nonrecours.simulation.openfisca_process import famille_values  # noqa: E402

PAIRS = {"paje_base": "paje_base_droit", "asf": "asf_droit", "cf": "cf"}
"""OpenFisca famille variable -> our rule."""


def compare(n: int, seed: int, rare: float = 0.0, senior: float = 0.0) -> dict[str, Any]:
    python = ensure_oracle()
    batch = load_situations(generate_situations(n, seed, prefix="pf", rare=rare, senior_activity=senior))
    if batch.errors:
        raise ValueError(f"{len(batch.errors)} generated situations are invalid, first: {batch.errors[0]}")
    sits: list[dict[str, Any]] = []
    index, ours = [], []
    for month in batch.months:
        frames = batch.frames_for_month(month)
        ex = export_situations(frames, month, benefits_paid=False, outputs={"familles": tuple(PAIRS)})
        index.append(ex.index.with_columns(pl.col("position") + len(sits),
                                           pl.lit(month.strftime("%Y-%m")).alias("period")))
        sits.extend(ex.situations)
        ours.append(evaluate(list(PAIRS.values()), Inputs(**frames), month, missing_inputs="error")["famille"]
                    .select("famille_id", *[pl.col(r).alias(f"ours_{of}") for of, r in PAIRS.items()]))
    theirs = famille_values(pl.concat(index), sits, run_oracle(sits, python), {"familles": tuple(PAIRS)})
    both = (pl.concat(ours).with_columns(pl.col("famille_id").cast(pl.Int64))
            .join(theirs.with_columns(pl.col("famille_id").cast(pl.Int64)), on="famille_id", how="inner")
            .join(batch.unit_index.with_columns(pl.col("famille_id").cast(pl.Int64)), on="famille_id"))
    out: dict[str, Any] = {"situations": n, "seed": seed, "rare": rare, "senior": senior, "familles": both.height}
    for of, rule in PAIRS.items():  # ours under ``ours_<variable>``: our ``cf`` has OpenFisca's name
        mine = f"ours_{of}"
        ok = (both[mine] - both[of].cast(pl.Float64)).abs() <= 1.0 + 1e-9
        pays = both[of].cast(pl.Float64) > 0
        out[of] = {"rate": round(float(ok.mean()), 4), "n_openfisca_pays": int(pays.sum()),
                   "rate_where_openfisca_pays": round(float(ok.filter(pays).mean()), 4) if pays.any() else None,
                   "disagreements": both.filter(~ok).select("id", "unit", pl.col("month").cast(pl.String),
                                                            pl.col(mine).alias(rule if rule != of else mine), of)
                   .head(20).to_dicts()}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1100)
    ap.add_argument("--rare", type=float, default=0.0,
                    help="share of situations given a shape the main draws never make (generate_situations' rare)")
    ap.add_argument("--senior", type=float, default=0.0,
                    help="share of situations whose parents of 62+ work or draw an unemployment benefit")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "family_benefits_differential.json"))
    args = ap.parse_args(argv)
    result = compare(args.n, args.seed, args.rare, args.senior)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: (v if not isinstance(v, dict) else {a: b for a, b in v.items() if a != "disagreements"})
                      for k, v in result.items()}, indent=2))
    return result


if __name__ == "__main__":
    main()
