"""Score a detection run against the synthetic truth: precision and recall of the flags per benefit and
grade, estimated against true non-take-up rates, amount foregone, and why the misses are missed.

The truth's ``take_up.parquet`` lists every famille our rules find entitled on the true situations, month
by month, with the take-up draw: the true non-take-up cases are its rows with ``take_up`` false. Truth
familles are matched to the workspace's by their adults: the truth's NIRs are pseudonymised with the
exchange agreement's key, exactly as the connectors did at ingest, and a truth famille is the workspace
famille holding its demandeur (else its conjoint). Nothing else of the truth is used.

A yearly benefit is scored on the payment detection judges (``Benefit.due_month``: in June 2026, the ARS due in
August 2025): the truth's rows of that month, whose take-up draw decided that payment, its familles matched by
their adults of that month.

Design exclusions are scored apart too: a true non-take-up whose own records in the truth (an objection to contact,
a pending claim, a recent refusal or closure: ``detection.exclusions`` on the truth's tables, with the run's
windows) forbid a contact is one detection must not flag. ``recall_contactable`` is the recall among the others;
``recall`` stays the share of every true non-take-up.

The estimated rate is the run's own, as the statistics publish it (``detection.rates``: low, central, high),
with whether the true rate lies between low and high (``true_rate_in_range``) and the chances behind the central
estimate's weights per coverage (``central_chances``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.detection.exclusions import exclusions
from nonrecours.detection.rates import ESTIMATES, grade_chances, rates_by_benefit
from nonrecours.detection.targets import AMOUNT_BENEFITS, BENEFITS, DetectionConfig
from nonrecours.errors import ConfigError
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.tables import valid_on

__all__ = ["evaluate_run", "render_markdown", "write_evaluation"]

GRADE_SETS: dict[str, tuple[str, ...]] = {
    "certain": ("certain",), "probable": ("probable",), "possible": ("possible",),
    "certain+probable": ("certain", "probable"), "all": ("certain", "probable", "possible"),
}


def _truth_adults(truth: Path, month: dt.date) -> pl.DataFrame:
    """famille_id, person_id and ``_rank`` (0 the demandeur, 1 the conjoint) of the truth's familles in ``month``."""
    m = pl.read_parquet(truth / "unit_memberships.parquet")
    return (m.filter((pl.col("unit_kind").cast(pl.String) == "famille") & valid_on(month)
                     & pl.col("role").cast(pl.String).is_in(["demandeur", "conjoint"]))
            .select(pl.col("unit_id").alias("famille_id"), "person_id",
                    (pl.col("role").cast(pl.String) != "demandeur").cast(pl.Int8).alias("_rank")))


def _truth_to_workspace(truth: Path, units: pl.DataFrame, month: dt.date, agreement: Path) -> pl.DataFrame:
    """truth famille id → workspace famille id (unit_id), via the pseudonyms of its adults."""
    from nonrecours.privacy import load_agreement
    from nonrecours.privacy.pseudonyms import pseudonymise

    key = load_agreement(agreement).pseudonym_key()
    adults = _truth_adults(truth, month).rename({"famille_id": "truth_id"})
    nirs = pl.read_parquet(truth / "identities.parquet", columns=["person_id", "nir"])
    pseud = pseudonymise(nirs.rename({"person_id": "truth_person"}), "nir", key, out="ws_person",
                         key_id_column=None, reason_column=None)
    adults = adults.join(pseud.rename({"truth_person": "person_id"}), on="person_id", how="inner")
    ws = (units.select("unit_id", "adult_ids").unique("unit_id").explode("adult_ids")
          .rename({"adult_ids": "ws_person"}).filter(pl.col("ws_person").is_not_null()))
    return (adults.join(ws, on="ws_person", how="inner").sort("truth_id", "_rank", "unit_id")
            .unique("truth_id", keep="first").select("truth_id", "unit_id"))


def _truth_excluded(truth: Path, month: dt.date, config: dict[str, Any]) -> pl.DataFrame:
    """truth famille id (``unit_id``), benefit: the familles the truth's own records exclude from contact in
    ``month``, by the one rule detection applies (``detection.exclusions``, the run's windows from its summary's
    ``config``). The truth's claims and objections name persons; a famille is excluded through its demandeur or
    conjoint of the month, as in a workspace."""
    schema = {"unit_id": pl.String(), "benefit": pl.String()}
    adults = _truth_adults(truth, month).select("famille_id", "person_id").unique()
    tables: dict[str, pl.LazyFrame] = {}
    if (truth / "claims.parquet").exists():  # person-level events: no dossier of their own
        tables["claims"] = pl.scan_parquet(truth / "claims.parquet").select(
            pl.lit("person").alias("unit_kind"), pl.lit("synth").alias("source_agency"),
            pl.lit(None, dtype=pl.String).alias("unit_id"), "person_id", pl.col("benefit").cast(pl.String),
            pl.col("event").cast(pl.String), "event_date")
    if (truth / "opt_outs.parquet").exists():
        o = pl.scan_parquet(truth / "opt_outs.parquet")
        tables["opt_outs"] = o.select("person_id", "since", (pl.col("benefit").cast(pl.String)
                                      if "benefit" in o.collect_schema().names()
                                      else pl.lit(None, dtype=pl.String).alias("benefit")))
    if not tables:
        return pl.DataFrame(schema=schema)
    found, _ = exclusions(tables, adults, month, DetectionConfig.model_validate(config))
    return found.select(pl.col("famille_id").alias("unit_id"), "benefit").unique().cast(schema)  # type: ignore[arg-type]


def _truth_record(truth: Path) -> dict[str, Any]:
    """What labelled the truth's entitlement (its manifest, written with take_up.parquet): the engine
    (``rules``, ``openfisca-france <version>``...) and the benefits it labelled; empty when not recorded."""
    path = truth / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return manifest.get("entitlements") or {}


def _truth_engine(truth: Path) -> str:
    """The engine that labelled the truth, or ``not recorded`` for a truth written before the record existed."""
    return str(_truth_record(truth).get("engine") or "not recorded")


def evaluate_run(run: str | Path, truth: str | Path, agreement: str | Path) -> dict[str, Any]:
    """The score of the run in ``run`` (flags/units/summary) against ``truth`` (synthetic truth folder)."""
    run, truth = Path(run), Path(truth)
    # a folder given wrong is said as such (exit 2), not as a reader's « No such file or directory (os error 2) »
    for folder, needed, what in ((run, ("summary.json", "units.parquet", "flags.parquet"), "detection run"),
                                 (truth, ("take_up.parquet",), "synthetic truth")):
        missing = [n for n in needed if not (folder / n).is_file()]
        if missing:
            raise ConfigError(f"{folder} is no {what} folder: {', '.join(missing)} not found there")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    year, mon = (int(x) for x in summary["month"].split("-"))
    month = dt.date(year, mon, 1)
    units = pl.read_parquet(run / "units.parquet")
    flags = pl.read_parquet(run / "flags.parquet")
    all_take_up = pl.read_parquet(truth / "take_up.parquet")
    mappings: dict[dt.date, pl.DataFrame] = {}

    def mapping_at(due: dt.date) -> pl.DataFrame:
        if due not in mappings:
            mappings[due] = _truth_to_workspace(truth, units, due, Path(agreement))
        return mappings[due]

    mapping = mapping_at(month)
    if mapping.height == 0 and units.height:
        # another territory's truth, or another agreement's key: every score would be 0, which is no score
        raise ConfigError(f"the truth in {truth} matches none of the run's familles in {summary['month']}: is it "
                          "this territory's truth, pseudonymised with this exchange agreement's key?")
    out: dict[str, Any] = {"month": summary["month"], "backend": summary.get("backend"),
                           "truth_engine": _truth_engine(truth), "truth_familles_matched": mapping.height,
                           "benefits": {}}
    asked = summary.get("config", {}).get("benefits") or BENEFITS
    labelled = _truth_record(truth).get("benefits")
    # the amounts foregone as the statistics estimate them, of the non-take-up flags alone (the truth's amount is
    # the non-take-up's; the statistics add the under-payments' gap)
    rates = {r["benefit"]: r for r in rates_by_benefit(units, foregone=("non_take_up",)).iter_rows(named=True)}
    # a benefit whose payments no extract reports has no estimated rate (over an assumed 0 paid, as published),
    # nor central amount (its weights are chances read on the units paid: as published, outputs.statistics)
    unpaid_unknown = {b for b, known in summary.get("payments_known", {}).items() if not known}
    for b in unpaid_unknown & set(rates):
        rates[b] = {k: v for k, v in rates[b].items() if not k.startswith("non_take_up_rate_")}
    chances: dict[str, dict[str, Any]] = {}
    for r in grade_chances(units).iter_rows(named=True):
        chances.setdefault(r["benefit"], {})[r["coverage"]] = {k: r[k] for k in ("paid", "paid_confirmed", "chance")}
    out["not_labelled_by_truth"] = [b for b in asked if labelled is not None and b not in labelled]
    truth_excluded = _truth_excluded(truth, month, summary.get("config") or {})
    for b in asked:
        if b in out["not_labelled_by_truth"]:  # no truth to score against: said, not scored as zero
            continue
        due = catalogue_row(b).due_month(month)  # the payment judged: a yearly benefit's last one due
        ent = all_take_up.filter((pl.col("benefit") == b) & (pl.col("month") == due)).join(
            mapping_at(due), left_on="unit_id", right_on="truth_id", how="left", suffix="_ws")
        true_ntu = ent.filter(~pl.col("take_up"))
        t_ids = true_ntu.get_column("unit_id_ws").drop_nulls()
        contactable = true_ntu.join(truth_excluded.filter(pl.col("benefit") == b), on="unit_id", how="anti")
        ub = units.filter(pl.col("benefit") == b)
        fb = flags.filter((pl.col("benefit") == b) & (pl.col("status") == "non_take_up"))
        res: dict[str, Any] = {"due_month": f"{due:%Y-%m}", "true_entitled": ent.height,
                               "true_non_take_up": true_ntu.height,
                               "true_rate": true_ntu.height / ent.height if ent.height else None,
                               "true_non_take_up_contactable": contactable.height, "grades": {}}
        for name, grades in GRADE_SETS.items():
            f = fb.filter(pl.col("grade").is_in(list(grades)))
            tp = f.filter(pl.col("unit_id").is_in(t_ids.implode())).height
            recalled = true_ntu.filter(pl.col("unit_id_ws").is_in(f.get_column("unit_id").implode())).height
            reached = contactable.filter(pl.col("unit_id_ws").is_in(f.get_column("unit_id").implode())).height
            res["grades"][name] = {"flags": f.height, "true_positives": tp,
                                   "precision": tp / f.height if f.height else None,
                                   "recall": recalled / true_ntu.height if true_ntu.height else None,
                                   "recall_contactable": reached / contactable.height if contactable.height else None}
        # the run's own estimate, as the statistics publish it (one estimator: detection.rates)
        est = rates.get(b, {})
        for e in ESTIMATES:
            res[f"estimated_rate_{e}"] = est.get(f"non_take_up_rate_{e}")
        res["estimated_rate"] = res["estimated_rate_central"]
        # the central's weights: per coverage, the paid units, those certain or probable, the chance used
        res["central_chances"] = chances.get(b, {})
        lo, hi = res["estimated_rate_low"], res["estimated_rate_high"]
        res["true_rate_in_range"] = (None if None in (lo, hi, res["true_rate"])
                                     else lo - 1e-9 <= res["true_rate"] <= hi + 1e-9)
        if b in AMOUNT_BENEFITS:  # monthly euros (a yearly benefit's truth amount is the year's: / 12)
            per = 12.0 if catalogue_row(b).yearly else 1.0
            res["amount_foregone_true"] = float(true_ntu.get_column("amount").sum()) / per
            for e in ESTIMATES:  # the statistics' low / central (weighted) / high, non-take-up flags only
                res[f"amount_foregone_estimated_{e}"] = (None if e == "central" and b in unpaid_unknown
                                                         else est.get(f"monthly_foregone_{e}", 0.0))
            res["amount_foregone_estimated"] = res["amount_foregone_estimated_central"]
        # why the misses are missed, and what the false alarms are
        flagged = fb.filter(pl.col("grade").is_in(["certain", "probable"])).get_column("unit_id")
        missed = true_ntu.filter(~pl.col("unit_id_ws").is_in(flagged.implode()) | pl.col("unit_id_ws").is_null())
        missed = missed.join(ub.select("unit_id", "status", "grade", "excluded"), left_on="unit_id_ws",
                             right_on="unit_id", how="left")
        # one cause a miss, the first that holds (an excluded unit graded possible was counted twice: the causes
        # summed past the misses, an outside tester's probe13)
        cause = (pl.when(pl.col("unit_id_ws").is_null()).then(pl.lit("not_in_workspace"))
                 .when(pl.col("excluded").is_not_null()).then(pl.lit("excluded"))
                 .when(pl.col("status").is_in(["consistent", "under_payment"])).then(pl.lit("seen_as_paid"))
                 .when(pl.col("grade") == "possible").then(pl.lit("possible_only"))
                 .otherwise(pl.lit("not_entitled_on_workspace_data")))
        counted = dict(missed.group_by(cause.alias("cause")).len().iter_rows())
        res["misses"] = {k: int(counted.get(k, 0)) for k in ("not_in_workspace", "not_entitled_on_workspace_data",
                                                             "possible_only", "seen_as_paid", "excluded")}
        truth_ids = ent.select("unit_id_ws", "take_up").drop_nulls("unit_id_ws").unique("unit_id_ws")
        false = fb.filter(pl.col("grade").is_in(["certain", "probable"])
                          & ~pl.col("unit_id").is_in(t_ids.implode())).join(
            truth_ids, left_on="unit_id", right_on="unit_id_ws", how="left")
        res["false_alarms"] = {
            "taken_up_in_truth": false.filter(pl.col("take_up").fill_null(False)).height,
            "not_entitled_in_truth": false.filter(pl.col("take_up").is_null()).height,
        }
        res["under_payment_flags"] = flags.filter((pl.col("benefit") == b)
                                                  & (pl.col("status") == "under_payment")).height
        res["coherence"] = summary["coherence"][b]["rate"]
        out["benefits"][b] = res
    return _rounded(out)


def _rounded(value: Any) -> Any:
    """Rates to 6 decimals, so long digit runs never look like an identifier to a leak scan."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _eur(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def render_markdown(score: dict[str, Any]) -> str:
    """The evaluation as a Markdown table (one row per benefit), then the misses and false alarms, then precision and
    recall per grade (the JSON's ``grades``)."""
    lines = [f"# Detection scored against the synthetic truth ({score['month']}, {score['backend']})", "",
             f"Truth entitlement labelled by: {score.get('truth_engine', 'not recorded')}", "",
             *([f"Not scored (the truth does not label them): {', '.join(score['not_labelled_by_truth'])}", ""]
               if score.get("not_labelled_by_truth") else []),
             "| benefit | flags c+p | precision c+p | recall c+p | recall c+p, contactable | precision certain | "
             "flags possible | true rate | estimated rate (low – high) | foregone true € | "
             "foregone est. € (low – high) | coherence |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b, r in score["benefits"].items():
        cp, ce, po = r["grades"]["certain+probable"], r["grades"]["certain"], r["grades"]["possible"]
        ft = r.get("amount_foregone_true")
        fl, fe, fh = (r.get(f"amount_foregone_estimated_{e}") for e in ESTIMATES)
        lines.append(f"| {b} | {cp['flags']} | {_pct(cp['precision'])} | {_pct(cp['recall'])} | "
                     f"{_pct(cp.get('recall_contactable'))} | {_pct(ce['precision'])} | {po['flags']} | "
                     f"{_pct(r['true_rate'])} | "
                     f"{_pct(r['estimated_rate'])} ({_pct(r.get('estimated_rate_low'))} – "
                     f"{_pct(r.get('estimated_rate_high'))}) | {'—' if ft is None else f'{ft:,.0f}'} | "
                     f"{_eur(fe)} ({_eur(fl)} – {_eur(fh)}) | {_pct(r['coherence'])} |")
    lines += ["", "Contactable: the true non-take-up whose own records in the truth (an objection, a pending claim, a "
              "recent refusal or closure) do not exclude it from contact, as detection's exclusions do.",
              "", "| benefit | true non-take-up | contactable | missed: not in workspace | "
              "not entitled on workspace data | possible only | seen as paid | excluded | "
              "false alarms: taken up in truth | not entitled in truth |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b, r in score["benefits"].items():
        m, f = r["misses"], r["false_alarms"]
        lines.append(f"| {b} | {r['true_non_take_up']} | {r.get('true_non_take_up_contactable', '—')} | "
                     f"{m['not_in_workspace']} | "
                     f"{m['not_entitled_on_workspace_data']} | {m['possible_only']} | {m['seen_as_paid']} | "
                     f"{m['excluded']} | {f['taken_up_in_truth']} | {f['not_entitled_in_truth']} |")
    grades = ("certain", "probable", "possible", "all")
    lines += ["", "Per grade: flags, precision, recall (each grade's flags alone; « all » every grade together).", "",
              "| benefit | " + " | ".join(f"{g}: flags | precision | recall" for g in grades) + " |",
              "|---|" + "---:|" * (3 * len(grades))]
    for b, r in score["benefits"].items():
        cells = [f"{r['grades'][g]['flags']} | {_pct(r['grades'][g]['precision'])} | {_pct(r['grades'][g]['recall'])}"
                 for g in grades]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_evaluation(score: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """evaluation.json and evaluation.md under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "evaluation.json", "markdown": out / "evaluation.md"}
    paths["json"].write_text(json.dumps(score, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_markdown(score), encoding="utf-8")
    return paths
