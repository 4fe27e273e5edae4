"""Engine benchmark: a benefit-like rule set on N synthetic individus, on both backends.

Run: ``python benchmarks/engine_bench.py [--individus 1000000] [--out benchmarks/results/engine.json]``

The rule set mirrors the shapes of the real benefits (three-month and twelve-month resource windows,
aggregates by role with filters, a projection of the ménage rent through the demandeur, labelled
conditions, dated parameters, rounding) without depending on them. Timings are wall-clock, measured
once per backend after a small warm-up; results of both backends are compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from nonrecours.engine import Inputs, evaluate
from nonrecours.rules.dsl import (
    Famille,
    Individu,
    condition,
    maximum,
    mean_over,
    minimum,
    param,
    round_,
    sum_over,
    where,
)
from nonrecours.rules.params import ParameterStore
from nonrecours.rules.registry import Registry

MONTH = dt.date(2025, 6, 1)
PARAMS = {
    "bench/montant_de_base": ("currency", {"2024-04-01": 635.71, "2025-04-01": 646.52}),
    "bench/maj_couple": ("rate", {"2009-06-01": 0.5}),
    "bench/maj_enfant": ("rate", {"2009-06-01": 0.3}),
    "bench/age_pac": ("year", {"1977-10-01": 25}),
    "bench/forfait_logement": ("rate", {"2009-06-01": 0.12}),
    "bench/plafond_css": ("currency", {"2024-04-01": 10166.0, "2025-04-01": 10339.0}),
    "bench/minimum_verse": ("currency", {"2009-06-01": 6.0}),
}
AMOUNTS = ("salaire", "chomage", "pension")


def write_params(root: Path) -> ParameterStore:
    for name, (unit, values) in PARAMS.items():
        path = root / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"description: {name}", f"unit: {unit}", "values:"]
        lines += [f"  {d}: {v}" for d, v in values.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ParameterStore(root)


def bench_registry() -> Registry:
    reg = Registry()
    for a in AMOUNTS:
        reg.input_variable(a, entity="individu", dtype="float", monthly=True, label=a)
    reg.input_variable("age", entity="individu", dtype="int", monthly=False, label="âge")
    reg.input_variable("loyer", entity="menage", dtype="float", monthly=True, label="loyer")
    reg.input_variable("aide_logement", entity="famille", dtype="float", monthly=True, label="aide au logement")

    @reg.rule(entity="individu", dtype="float", label="ressources du mois")
    def ressources_mois(i: Individu):
        return i.salaire + i.chomage + i.pension

    @reg.rule(entity="individu", dtype="bool", label="à charge")
    def a_charge(i: Individu):
        return condition("Moins de l'âge limite", i.age < param("bench.age_pac")) & (i.famille_role == "enfant")

    @reg.rule(entity="famille", dtype="float", label="forfait")
    def forfait(f: Famille):
        couple = condition("Couple", f.count(role="conjoint") > 0)
        n = f.count(where=f.members.a_charge)
        return param("bench.montant_de_base") * (1 + where(couple, param("bench.maj_couple"), 0)
                                                 + param("bench.maj_enfant") * n)

    @reg.rule(entity="famille", dtype="float", label="ressources trimestrielles")
    def ressources_trim(f: Famille):
        return f.sum(mean_over(f.members.ressources_mois, -3, -1), role=("demandeur", "conjoint"))

    @reg.rule(entity="famille", dtype="float", label="forfait logement")
    def forfait_logement(f: Famille):
        loge = condition("Logé avec loyer ou aide", (f.menage.loyer > 0) | (f.aide_logement > 0))
        return where(loge, f.forfait * param("bench.forfait_logement"), 0)

    @reg.rule(entity="famille", dtype="float", label="allocation", ref="bench")
    def allocation(f: Famille):
        brut = maximum(f.forfait - f.forfait_logement - f.ressources_trim, 0)
        verse = condition("Au-dessus du minimum", brut >= param("bench.minimum_verse"))
        return where(verse, round_(brut, 2), 0)

    @reg.rule(entity="famille", dtype="bool", label="complémentaire gratuite")
    def css(f: Famille):
        annuel = f.sum(sum_over(f.members.ressources_mois, -12, -1))
        plafond = param("bench.plafond_css") * (1 + 0.5 * minimum(f.count() - 1, 1))
        return condition("Ressources annuelles sous le plafond", annuel <= plafond) | (f.allocation > 0)

    return reg


def synth(n_individus: int, seed: int = 7) -> Inputs:
    """~2.4 individus per famille, one ménage per famille; 12 months of amounts, ~40% of rows absent."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_individus, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    sizes = sizes[np.cumsum(sizes) <= n_individus]
    n_fam = len(sizes)
    fam = np.repeat(np.arange(n_fam), sizes)
    rank = np.arange(len(fam)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    couple = rng.random(n_fam) < 0.5
    is_conj = (rank == 1) & couple[fam]
    role = np.where(rank == 0, "demandeur", np.where(is_conj, "conjoint", "enfant"))
    n = len(fam)
    ind = pl.DataFrame({
        "person_id": np.arange(n), "famille_id": fam, "famille_role": role,
        "foyer_fiscal_id": fam, "foyer_fiscal_role": np.where(role == "enfant", "personne_a_charge", "declarant"),
        "menage_id": fam, "menage_role": np.where(rank == 0, "personne_de_reference",
                                                  np.where(is_conj, "conjoint", "enfant")),
        "age": np.where(role == "enfant", rng.integers(0, 30, n), rng.integers(18, 90, n)),
    })
    months = [dt.date(2024 + (5 + k) // 12, (5 + k) % 12 + 1, 1) for k in range(13)]  # 2024-06..2025-06
    parts = []
    for m in months:
        keep = rng.random(n) < 0.6
        idx = np.nonzero(keep)[0]
        parts.append(pl.DataFrame({
            "person_id": idx, "month": pl.Series([m]).repeat_by(len(idx)).explode() if len(idx) else [],
            "salaire": np.round(rng.gamma(2.0, 500.0, len(idx)) * (rng.random(len(idx)) < 0.5), 2),
            "chomage": np.round(rng.gamma(2.0, 300.0, len(idx)) * (rng.random(len(idx)) < 0.15), 2),
            "pension": np.round(rng.gamma(3.0, 400.0, len(idx)) * (rng.random(len(idx)) < 0.2), 2),
        }))
    monthly = pl.concat(parts)
    menage_m = pl.DataFrame({"menage_id": np.arange(n_fam), "month": [MONTH] * n_fam,
                             "loyer": np.round(rng.uniform(0, 900, n_fam) * (rng.random(n_fam) < 0.6), 2)})
    famille_m = pl.DataFrame({"famille_id": np.arange(n_fam), "month": [MONTH] * n_fam,
                              "aide_logement": np.round(rng.uniform(0, 300, n_fam) * (rng.random(n_fam) < 0.3), 2)})
    return Inputs(individu=ind, individu_monthly=monthly, menage_monthly=menage_m, famille_monthly=famille_m)


def real_rules(n_individus: int, backends: tuple[str, ...]) -> dict[str, object]:
    """The project's benefit rules (all simulate outputs) on the public OpenFisca situations of one month,
    replicated with shifted ids up to about ``n_individus``."""
    from duckdb_speed_bench import replicated_inputs
    from nonrecours.rules.benefits import OUTPUTS

    inputs, month = replicated_inputs(n_individus)
    timings, cpu, results = {}, {}, {}
    for backend in backends:
        t0, c0 = time.perf_counter(), time.process_time()
        results[backend] = evaluate(list(OUTPUTS), inputs, month, backend=backend, missing_inputs="default",
                                    duckdb_config={"memory_limit": "6GB"})
        timings[backend] = round(time.perf_counter() - t0, 3)
        cpu[backend] = round(time.process_time() - c0, 3)  # all threads: steadier than wall on a shared machine
    out: dict[str, object] = {
        "rules": "project benefits (rsa, ppa, aspa, css): every simulate output",
        "month": month.isoformat(), "individus": inputs.individu.height,
        "plan_steps": len(results[backends[0]].plan.steps),
        "plan_levels": len(results[backends[0]].plan.by_level()),
        "seconds_evaluate": timings,
        "cpu_seconds_evaluate": cpu,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    if "polars" in timings:
        out["ratio_to_polars"] = {b: round(t / timings["polars"], 2) for b, t in timings.items() if b != "polars"}
        out["cpu_ratio_to_polars"] = {b: round(t / cpu["polars"], 2) for b, t in cpu.items() if b != "polars"}
    if len(backends) == 2:
        a, b = (results[x]["famille"] for x in backends)
        out["max_abs_float_difference_between_backends"] = max(
            float((a[c] - b[c]).abs().max()) for c in a.columns if a[c].dtype == pl.Float64)
        out["boolean_columns_equal"] = all(a[c].equals(b[c]) for c in a.columns if a[c].dtype == pl.Boolean)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--individus", type=int, default=1_000_000)
    ap.add_argument("--real-individus", default="0",
                    help="also run the project's benefit rules on about this many individus, comma-separated "
                         "sizes in one run (0: skip)")
    ap.add_argument("--skip-toy", action="store_true", help="only the project's rules (--real-individus)")
    ap.add_argument("--real-backends", default="polars,duckdb")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "engine.json")
    args = ap.parse_args()
    report: dict[str, object] = {
        "benchmark": "engine: the project's rules (toy rule set skipped)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(),
                    "polars": pl.__version__, "duckdb": __import__("duckdb").__version__},
    }
    if not args.skip_toy:
        reg = bench_registry()
        targets = ["allocation", "css"]
        with tempfile.TemporaryDirectory() as tmp:
            params = write_params(Path(tmp))
            t0 = time.perf_counter()
            inputs = synth(args.individus)
            t_synth = time.perf_counter() - t0
            small = synth(2000, seed=1)
            results, timings = {}, {}
            for backend in ("polars", "duckdb"):
                evaluate(targets, small, MONTH, backend=backend, registry=reg, parameters=params)  # warm-up
                t0 = time.perf_counter()
                results[backend] = evaluate(targets, inputs, MONTH, backend=backend, registry=reg,
                                            parameters=params, duckdb_config={"memory_limit": "4GB"})
                timings[backend] = round(time.perf_counter() - t0, 3)
            a, b = results["polars"]["famille"], results["duckdb"]["famille"]
            max_diff = max(float((a[c] - b[c]).abs().max()) for c in a.columns if a[c].dtype == pl.Float64)
            bool_equal = all(a[c].equals(b[c]) for c in a.columns if a[c].dtype == pl.Boolean)
            plan = results["polars"].plan
            report = {
                "benchmark": "engine: benefit-like rule set, 3- and 12-month windows, both backends",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                            "python": platform.python_version(),
                            "polars": pl.__version__, "duckdb": __import__("duckdb").__version__},
                "individus": inputs.individu.height,
                "familles": a.height,
                "monthly_rows": inputs.individu_monthly.height if inputs.individu_monthly is not None else 0,
                "plan_steps": len(plan.steps),
                "plan_levels": len(plan.by_level()),
                "seconds_synthetic_data": round(t_synth, 3),
                "seconds_evaluate": timings,
                "max_abs_float_difference_between_backends": max_diff,
                "boolean_columns_equal": bool_equal,
                "allocation_paid_share": round(float((a["allocation"] > 0).mean()), 4),
            }
    sizes = [int(x) for x in args.real_individus.split(",") if int(x)]
    backends = tuple(args.real_backends.split(","))
    if len(sizes) == 1:
        report["real_rules"] = real_rules(sizes[0], backends)
    elif sizes:
        report["real_rules_by_size"] = {str(n): real_rules(n, backends) for n in sizes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
