"""Engine input frames → OpenFisca-France web-API situations (the JSON ``/calculate`` accepts).

Used to replay a case in an OpenFisca engine (an agent checking a flagged household in the mes-aides
simulator, the differential harness in ``tests/oracle``). It reads the frames of :class:`nonrecours.engine.Inputs`
for one evaluated month, never OpenFisca itself (this module does not import it: AGPL).

One situation per ménage of the selected familles. Conventions (those of the reference cases,
SITUATION_FORMAT.md, so that OpenFisca reads our inputs as our rules do):
- every monthly amount is stated for each month from January of year N-2 to December of year N (the
  yearly ARS and chèque énergie read the autumn); a month before the earliest month the frames hold repeats
  the earliest month, a month after the evaluated month repeats it (resources assumed stable, as the
  situations state); nothing is stated before year N-2, so the income of reference of a month of year N-1
  (year N-3) is zero in OpenFisca as in our rules;
- taxable amounts follow the mes-aides ratios (``SALARY_TAXABLE``...), gross salary is net / 0.78, gross
  pension is ``pension_gross``;
- family benefits and housing aid paid (af, paje_base, asf, aide_logement_versee) are inputs of the twelve
  months before the evaluated month (``benefits_paid=True``; a month without a row was paid 0; a housing aid
  whose payment is unknown, ``aide_logement_versee_connue`` false, is not stated); the evaluated month
  itself is computed; the AAH paid (``aah_versee``, per dossier) where it is known, as the ``aah`` of the
  parent with the higher disability rate and 0 for the other members (``_aah_paid``);
- a famille hosted free of charge in another's dwelling is its own ménage, ``loge_gratuitement``;
- nationality groups become a representative code (FR, an EEA state, a code outside the EEA), the permit
  years ``duree_possession_titre_sejour``; activity follows salary > unemployment > pension > inactive;
- the exemption from the permit duration (``residence_condition_exempt``: refugee, subsidiary protection,
  stateless, carte de résident; CASF art. L262-4, 2°, CSS art. L842-2, 2°) is not stated: OpenFisca-France
  176.1.8 has no input for these statuses, and stating its computed condition ``rsa_condition_nationalite``
  as an input for the exempt person only is unsafe, because a batch merged into one simulation gives every
  other person of the batch that variable's default (true) instead of its formula (measured: a non-exempt
  permit holder of two years got the RSA). An exempt person's RSA/PPA therefore differs from OpenFisca's by
  construction (docs/oracle_disagreements.md); nor is ``ofpra_protection`` (refugee, protection, statelessness:
  CSS art. L816-1 waives the ASPA/ASI's ten years), for the same reason (``asi_aspa_condition_nationalite``);
- OpenFisca's ``handicap`` (which opens the ASI to a retiree with a disability) is not stated: the ASI is
  opened by an invalidity pension, as in our rules and in the reference cases.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import atomic_path
from nonrecours.engine.plan import add_months
from nonrecours.rules.benefits.common import PENSION_TAXABLE, SALARY_TAXABLE, UNEMPLOYMENT_TAXABLE

__all__ = ["EXPORTED_OUTPUTS", "SITUATIONS_SCHEMA", "VOCABULARY", "Export", "export_situations", "flagged_situations",
           "read_situation", "write_situations"]

NET_TO_GROSS_SALARY = 0.78
NATIONALITY_CODE = {"FR": "FR", "EEA_CH": "DE", "OTHER": "ZZ"}
"""A representative ISO code per nationality group (ZZ: user-assigned, outside the EEA)."""
HOUSING = {"tenant": "locataire_vide", "tenant_furnished": "locataire_meuble", "social_tenant": "locataire_hlm",
           "foyer": "locataire_foyer", "owner": "proprietaire", "owner_with_loan": "primo_accedant",
           "free": "loge_gratuitement", "homeless": "sans_domicile"}
VOCABULARY = frozenset({"marie", "pacse", "actif", "chomeur", "retraite", "inactif", *HOUSING.values()})
"""OpenFisca's words the export writes as values (« marie » is statut_marital, and a first name too): a name
scanner over situations leaves these out."""
PAID = ("af", "paje_base", "asf", "aide_logement")
PAID_COLUMNS = {"af": "af", "paje_base": "paje_base", "asf": "asf", "aide_logement": "aide_logement_versee"}
"""Our input column of each OpenFisca variable stated as paid."""
PAID_MONTHS = 12
EXPORTED_OUTPUTS: dict[str, tuple[str, ...]] = {
    "familles": ("rsa", "ppa", "aspa", "aide_logement", "af", "paje_base", "asf", "cmu_c",
                 "css_participation_forfaitaire", "rsa_base_ressources", "ppa_base_ressources",
                 "asi_aspa_base_ressources", "css_cmu_base_ressources", "cmu_c_plafond", "acs_plafond",
                 "rsa_forfait_logement", "ppa_forfait_logement", "aide_logement_base_ressources", "ars"),
    "individus": ("aah", "asi"),
    "menages": ("cheque_energie",),
}
"""Variables requested (as ``null`` at the evaluated month, at its year for :data:`YEARLY` ones) when
``outputs=True``."""
YEARLY = frozenset({"ars", "cheque_energie"})
"""OpenFisca variables defined for a calendar year: requested at the evaluated month's year."""

_AMOUNTS = {  # OpenFisca variable -> expression over our monthly columns
    "salaire_net": pl.col("salary_net"),
    "salaire_imposable": pl.col("salary_net") * SALARY_TAXABLE,
    "salaire_de_base": pl.col("salary_net") / NET_TO_GROSS_SALARY,
    "chomage_net": pl.col("unemployment"),
    "chomage_imposable": pl.col("unemployment") * UNEMPLOYMENT_TAXABLE,
    "retraite_nette": pl.col("pension_net"),
    "retraite_imposable": pl.col("pension_net") * PENSION_TAXABLE,
    "retraite_brute": pl.col("pension_gross"),
    "pensions_invalidite": pl.col("invalidity_pension"),
    "pensions_alimentaires_percues": pl.col("alimony_received"),
}
_MONEY = ("salary_net", "unemployment", "pension_net", "pension_gross", "invalidity_pension", "alimony_received")


@dataclass(frozen=True)
class Export:
    """``situations``: web-API dicts, one per ménage; ``index``: famille_id → (position, famille key, ménage key)."""

    situations: list[dict[str, Any]]
    index: pl.DataFrame


def _ym(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _frame(frames: Mapping[str, Any], name: str) -> pl.DataFrame | None:
    return frames.get(name) if isinstance(frames, Mapping) else getattr(frames, name, None)


def _birth_date(row: Mapping[str, Any], month: dt.date) -> str:
    """The stated birth date, else (unknown: absent or the 1800-01-01 sentinel) the birthday six months
    before ``month`` of a person of the row's age (the convention of the reference cases)."""
    born = row.get("date_naissance")
    if isinstance(born, dt.date) and born.year > 1800:
        return born.isoformat()
    if row.get("age") is None:
        raise ValueError("export_situations: a person has neither a birth date nor an age")
    return add_months(month, -12 * int(row["age"]) - 6).isoformat()


def _series_dicts(df: pl.DataFrame, key: str, columns: Iterable[str]) -> dict[Any, dict[str, dict[str, Any]]]:
    """{key: {column: {month: value}}} from a long frame with a ``period`` string column (one group_by)."""
    cols = list(columns)
    agg = df.group_by(key).agg(pl.col("period"), *[pl.col(c) for c in cols])
    out: dict[Any, dict[str, dict[str, Any]]] = {}
    for row in agg.iter_rows(named=True):
        periods = row["period"]
        out[row[key]] = {c: dict(zip(periods, row[c], strict=True)) for c in cols}
    return out


def _aah_paid(ind: pl.DataFrame, fam: pl.DataFrame, fm: pl.DataFrame | None,
              paid_months: pl.DataFrame) -> dict[Any, dict[str, dict[str, Any]]]:
    """OpenFisca's ``aah`` (per person) of the familles whose AAH paid is known (``aah_versee_connue``): the
    dossier's payment goes to the parent with the higher disability rate (the demandeur on a tie), the other
    members get 0, so OpenFisca counts the AAH received as our rules do (``aah_percue``). Our rules share a
    payment among members in proportion to the AAH they compute; with two members entitled the export differs."""
    if fm is None or "aah_versee" not in fm.columns or "aah_versee_connue" not in fam.columns:
        return {}
    known = fam.filter(pl.col("aah_versee_connue")).select("famille_id")
    members = ind.join(known, on="famille_id", how="semi")
    if members.is_empty():
        return {}
    rate = pl.col("disability_rate").fill_null(-1.0)
    parents = members.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
    who = (parents.sort(["famille_id", rate, pl.col("famille_role") == "demandeur"], descending=[False, True, True])
           .unique("famille_id", keep="first", maintain_order=True)
           .select("famille_id", pl.col("person_id").alias("who")))
    grid = (members.select("famille_id", "person_id").join(who, on="famille_id", how="left")
            .join(paid_months, how="cross")
            .join(fm.select("famille_id", "month", "aah_versee"), on=["famille_id", "month"], how="left")
            .with_columns(pl.when(pl.col("person_id") == pl.col("who"))
                          .then(pl.col("aah_versee").fill_null(0.0).clip(lower_bound=0.0)).otherwise(0.0)
                          .round(2).alias("aah")))
    return _series_dicts(grid, "person_id", ["aah"])


def export_situations(frames: Mapping[str, pl.DataFrame] | Any, month: dt.date,
                      famille_ids: Sequence[int] | pl.Series | None = None, *, benefits_paid: bool = True,
                      outputs: bool | Mapping[str, Sequence[str]] = True, paid_this_month: bool = False) -> Export:
    """Web-API situations for the ménages of ``famille_ids`` (all familles when None) at ``month``.

    ``frames``: a dict of input frames or an :class:`~nonrecours.engine.Inputs`. ``benefits_paid``: state
    the paid family benefits and housing aid of the twelve previous months (False lets OpenFisca compute
    them). ``outputs``: request :data:`EXPORTED_OUTPUTS` (or the given ``{entity plural: variables}``) at
    ``month`` (``null`` values, as the web API's ``/calculate`` expects). ``paid_this_month``: state the
    evaluated month's paid benefits too (as our rules read them: the housing aid paid enters the RSA and PPA
    forfait logement), instead of letting OpenFisca compute them; replays a flagged case as detection saw it.
    """
    requested: Mapping[str, Sequence[str]] = (EXPORTED_OUTPUTS if outputs is True else outputs or {})
    month = dt.date(month.year, month.month, 1)
    ind = _frame(frames, "individu")
    if ind is None:
        raise ValueError("export_situations: the individu frame is required")
    if famille_ids is not None:
        sel = pl.DataFrame({"famille_id": pl.Series(list(famille_ids), dtype=ind["famille_id"].dtype)})
        menages = ind.join(sel, on="famille_id", how="semi").select("menage_id").unique()
        ind = ind.join(menages, on="menage_id", how="semi")
    fam = _frame(frames, "famille")
    fam = (fam.join(ind.select("famille_id").unique(), on="famille_id", how="semi") if fam is not None
           else ind.select("famille_id").unique().with_columns(
               pl.lit("").alias("couple_kind"), pl.lit(False).alias("recent_isolation"),
               pl.lit(False).alias("hosted_free_of_charge")))
    men = _frame(frames, "menage")
    if men is None:
        raise ValueError("export_situations: the menage frame is required (depcom, housing status, rent)")
    men = men.join(ind.select("menage_id").unique(), on="menage_id", how="semi")

    start = dt.date(month.year - 2, 1, 1)
    window = []
    m = start
    while m <= month:
        window.append(m)
        m = add_months(m, 1)
    whole = f"month:{_ym(start)}:{len(window)}"  # only for variables OpenFisca dispatches (not divides)
    periods = [_ym(w) for w in window]
    # resources are stable up to December of year N (SITUATION_FORMAT.md): the yearly benefits (ARS, chèque
    # énergie) read the months after M (a child's earnings in the autumn), so those months are stated too
    later = []
    m = add_months(month, 1)
    while m.year == month.year:
        later.append(m)
        m = add_months(m, 1)
    income_df = pl.DataFrame({"month": [*window, *later]}, schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.strftime("%Y-%m").alias("period"))

    # -- individu monthly amounts over the window (earliest known month carried back) -------------------
    im = _frame(frames, "individu_monthly")
    persons = ind.select("person_id")
    if im is not None and im.height:
        have = [c for c in _MONEY if c in im.columns]
        im = im.join(persons, on="person_id", how="semi").filter(pl.col("month") <= month).select(
            "person_id", "month", *have)
        im = im.with_columns(*(pl.lit(0.0).alias(c) for c in _MONEY if c not in have))
        carriers = im.group_by("person_id").agg(pl.col("month").min().alias("first"))
        grid = (carriers.join(income_df, how="cross")
                .join(im, on=["person_id", "month"], how="left")
                .sort("person_id", "month")
                .with_columns(*(pl.col(c).backward_fill().over("person_id").forward_fill().over("person_id")
                                .fill_null(0.0) for c in _MONEY))
                .with_columns(*(expr.round(2).alias(v) for v, expr in _AMOUNTS.items()))
                .with_columns(pl.when(pl.col("salary_net") > 0).then(pl.lit("actif"))
                              .when(pl.col("unemployment") > 0).then(pl.lit("chomeur"))
                              .when(pl.col("pension_net") > 0).then(pl.lit("retraite"))
                              .otherwise(pl.lit("inactif")).alias("activite")))
        used = [v for v in _AMOUNTS if grid.select((pl.col(v) != 0).any()).item()]
        per_person = _series_dicts(grid, "person_id", [*used, "activite"])
    else:
        per_person = {}

    # -- famille paid benefits over the twelve months before (and the month itself if asked) ---------
    fm = _frame(frames, "famille_monthly")
    last = 0 if paid_this_month else 1
    paid_months = pl.DataFrame({"month": [add_months(month, -k) for k in range(PAID_MONTHS, last - 1, -1)]},
                               schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.strftime("%Y-%m").alias("period"))
    per_famille: dict[Any, dict[str, dict[str, Any]]] = {}
    if benefits_paid:
        grid = fam.select("famille_id").join(paid_months, how="cross")
        if fm is not None and fm.height:
            have = {v: PAID_COLUMNS[v] for v in PAID if PAID_COLUMNS[v] in fm.columns}
            grid = grid.join(fm.select("famille_id", "month", *(pl.col(c).alias(v) for v, c in have.items())),
                             on=["famille_id", "month"], how="left")
        grid = grid.with_columns(*(pl.col(c).fill_null(0.0) if c in grid.columns else pl.lit(0.0).alias(c)
                                   for c in PAID))
        per_famille = _series_dicts(grid, "famille_id", PAID)
        if "aide_logement_versee_connue" in fam.columns:  # an aid paid unknown is left for OpenFisca to compute
            for fid in fam.filter(~pl.col("aide_logement_versee_connue"))["famille_id"].to_list():
                per_famille.get(fid, {}).pop("aide_logement", None)
    aah_paid = _aah_paid(ind, fam, fm, paid_months) if benefits_paid else {}

    # -- assemble, one situation per ménage ------------------------------------------------------------
    ind = ind.join(fam.select("famille_id", "couple_kind", "recent_isolation", "hosted_free_of_charge"),
                   on="famille_id", how="left")
    ind_rows = ind.sort("menage_id", "famille_id", "person_id").to_dicts()
    fam_rows = {r["famille_id"]: r for r in fam.to_dicts()}
    men_rows = {r["menage_id"]: r for r in men.to_dicts()}
    period = _ym(month)
    year = f"{month.year:04d}"
    by_menage: dict[Any, list[dict[str, Any]]] = {}
    for r in ind_rows:
        by_menage.setdefault(r["menage_id"], []).append(r)
    situations: list[dict[str, Any]] = []
    idx_f: list[int] = []
    idx_pos: list[int] = []
    idx_key: list[str] = []
    idx_men: list[str] = []
    for menage_id, members in by_menage.items():
        mrow = men_rows.get(menage_id)
        if mrow is None:
            raise ValueError(f"export_situations: ménage {menage_id} has no row in the menage frame")
        sit: dict[str, Any] = {"individus": {}, "familles": {}, "foyers_fiscaux": {}, "menages": {}}
        # keys are ordinals within the situation: no identifier (a pseudonym) leaves in the export
        keys: dict[tuple[str, Any], str] = {}
        fam_of: dict[str, Any] = {}
        menage_of: dict[str, str] = {}
        for r in members:
            pid = keys.setdefault(("i", r["person_id"]), f"i{len(sit['individus'])}")
            person: dict[str, Any] = {
                "date_naissance": {"ETERNITY": _birth_date(r, month)},
                "nationalite": {whole: NATIONALITY_CODE.get(r.get("nationality_group") or "FR", "ZZ")},
                "duree_possession_titre_sejour": {whole: float(r.get("residence_permit_years") or 0.0)},
                "taux_incapacite": {whole: float(r.get("disability_rate") or 0.0)},
                "aah_restriction_substantielle_durable_acces_emploi": {whole: bool(r.get("rsdae"))},
                "inapte_travail": {whole: bool(r.get("unfit_for_work"))},
                "etudiant": {whole: bool(r.get("student"))},
                "enceinte": {whole: bool(r.get("pregnant"))},
            }
            series = per_person.get(r["person_id"])
            if series is None:
                person["activite"] = {whole: "inactif"}
            else:
                person.update(series)
            person.update(aah_paid.get(r["person_id"], {}))
            if r["famille_role"] != "enfant" and r.get("couple_kind") in ("married", "pacs"):
                person["statut_marital"] = {whole: "marie" if r["couple_kind"] == "married" else "pacse"}
            for v in requested.get("individus", ()):  # an input asked for: its other months stay stated
                if paid_this_month and period in person.get(v, {}):  # the AAH paid: stated, not asked
                    continue
                person[v] = {**person.get(v, {}), (year if v in YEARLY else period): None}
            sit["individus"][pid] = person
            fkey = keys.setdefault(("f", r["famille_id"]), f"f{len(sit['familles'])}")
            fam_of[fkey] = r["famille_id"]
            f = sit["familles"].setdefault(fkey, {"parents": [], "enfants": []})
            f["parents" if r["famille_role"] in ("demandeur", "conjoint") else "enfants"].append(pid)
            ffkey = keys.setdefault(("ff", r["foyer_fiscal_id"]), f"ff{len(sit['foyers_fiscaux'])}")
            ff = sit["foyers_fiscaux"].setdefault(ffkey,
                                                  {"declarants": [], "personnes_a_charge": []})
            ff["declarants" if r["foyer_fiscal_role"] == "declarant" else "personnes_a_charge"].append(pid)
            hosted = bool(r.get("hosted_free_of_charge"))
            mkey = keys.setdefault(("m", r["famille_id"] if hosted else None), f"m{len(sit['menages'])}")
            if mkey not in sit["menages"]:
                sit["menages"][mkey] = {
                    "personne_de_reference": [], "conjoint": [], "enfants": [], "autres": [],
                    "depcom": {whole: mrow["depcom"]},
                    "statut_occupation_logement": {whole: "loge_gratuitement" if hosted
                                                   else HOUSING[mrow["housing_status"]]},
                    # loyer is divided over a multi-month period by OpenFisca: state each month
                    "loyer": dict.fromkeys(periods, 0.0 if hosted else float(mrow.get("rent") or 0.0)),
                }
            mk = sit["menages"][mkey]
            menage_of[fkey] = mkey
            role = {"demandeur": "personne_de_reference", "conjoint": "conjoint"}.get(r["famille_role"], "enfants")
            mk[role].append(pid)
        for fkey, f in sit["familles"].items():
            fid = fam_of[fkey]
            frow = fam_rows.get(fid)
            if frow is None:  # named by its position only: a famille key is a pseudonym
                raise ValueError(f"export_situations: a member of ménage number {len(situations) + 1} belongs to "
                                 "a famille without a row in the famille frame")
            f["rsa_isolement_recent"] = {whole: bool(frow.get("recent_isolation"))}
            f.update(per_famille.get(fid, {}))
            for v in requested.get("familles", ()):  # a paid benefit: past months stated, this one asked
                if paid_this_month and v in PAID:
                    continue
                f[v] = {**f.get(v, {}), (year if v in YEARLY else period): None}
            idx_f.append(fid)
            idx_pos.append(len(situations))
            idx_key.append(fkey)
            idx_men.append(menage_of[fkey])
        for mk in sit["menages"].values():
            for v in requested.get("menages", ()):
                mk[v] = {(year if v in YEARLY else period): None}
            # one reference person and one spouse per ménage; the adults of its other familles are "autres"
            # (dropped, they would be in no ménage and OpenFisca would give them an empty default one)
            mk["autres"] = [*mk["personne_de_reference"][1:], *mk["conjoint"][1:], *mk["autres"]]
            mk["personne_de_reference"] = mk["personne_de_reference"][:1]
            mk["conjoint"] = mk["conjoint"][:1]
            for role in ("conjoint", "enfants", "autres"):
                if not mk[role]:
                    del mk[role]
        situations.append(sit)
    index = pl.DataFrame({"famille_id": idx_f, "position": idx_pos, "famille": idx_key, "menage": idx_men},
                         schema={"famille_id": ind["famille_id"].dtype, "position": pl.Int64, "famille": pl.Utf8,
                                 "menage": pl.Utf8})
    return Export(situations=situations, index=index)


SITUATIONS_SCHEMA: dict[str, pl.DataType] = {
    "claimant_id": pl.String(),  # the flag's claimant (a pseudonym: this table stays in the run's detection/)
    "famille": pl.String(),      # the claimant's famille key inside the situation ("f0", "f1"...)
    "situation": pl.String(),    # the web-API situation, compact JSON with neutral keys only
}
"""Detection's ``situations.parquet``: one row per claimant of a flag whose whole famille lies in one dwelling."""


def _drop_zero_series(situation: dict[str, Any]) -> None:
    """Drop a person's amount series that is 0 in every month (OpenFisca's default): the export states a series
    for every person once anyone of the batch has a non-zero one, so without this a ménage's JSON would depend on
    which other ménages were exported with it (a partitioned run must write the bytes of a run in one pass)."""
    for person in situation["individus"].values():
        for v in _AMOUNTS:
            if v in person and not any(person[v].values()):
                del person[v]


def flagged_situations(inputs: Any, month: dt.date, flags: pl.DataFrame) -> pl.DataFrame:
    """The situation of each flagged claimant's dwelling (:data:`SITUATIONS_SCHEMA`, sorted by claimant), as
    detection saw the month (``paid_this_month``: the month's paid benefits stated) with the benefits requested,
    so that POSTing it to ``/calculate`` replays our amounts.

    A famille whose members live in several dwellings (or without a demandeur) is left out: OpenFisca needs a
    famille's members and its reference person in one situation, so its replay would not be the case we detected.
    """
    empty = pl.DataFrame(schema=SITUATIONS_SCHEMA)
    ind = _frame(inputs, "individu")
    if ind is None or flags.is_empty():
        return empty
    claimants = (flags.select("claimant_id").unique()
                 .join(ind.select(pl.col("person_id").alias("claimant_id"), "famille_id"), on="claimant_id"))
    whole = (ind.group_by("famille_id")
             .agg(pl.col("menage_id").n_unique().alias("_n"), (pl.col("famille_role") == "demandeur").any().alias("_d"))
             .filter((pl.col("_n") == 1) & pl.col("_d")).select("famille_id"))
    claimants = claimants.join(whole, on="famille_id", how="semi")
    fam = _frame(inputs, "famille")
    if fam is not None:  # a dwelling holding a person whose famille has no row cannot be stated whole: left out
        broken = ind.join(fam.select("famille_id"), on="famille_id", how="anti").select("menage_id").unique()
        claimants = (claimants.join(ind.select(pl.col("person_id").alias("claimant_id"), "menage_id"),
                                    on="claimant_id")
                     .join(broken, on="menage_id", how="anti").drop("menage_id"))
    if claimants.is_empty():
        return empty
    ex = export_situations(inputs, month, claimants.get_column("famille_id").unique().sort(), paid_this_month=True)
    texts = []
    for sit in ex.situations:
        _drop_zero_series(sit)
        texts.append(json.dumps(sit, ensure_ascii=False, separators=(",", ":")))
    index = ex.index.join(pl.DataFrame({"position": range(len(texts)), "situation": texts},
                                       schema={"position": pl.Int64, "situation": pl.String}), on="position")
    return (claimants.join(index.select("famille_id", "famille", "situation"), on="famille_id")
            .select(list(SITUATIONS_SCHEMA)).cast(SITUATIONS_SCHEMA).sort("claimant_id"))  # type: ignore[arg-type]


def write_situations(rows: pl.DataFrame, situations: pl.DataFrame, path: str | Path) -> Path:
    """``path`` (JSON Lines, atomically): for each row of an outreach list (``claimant_id``, ``situation_id``)
    that has a situation, in the list's order, ``{"situation_id", "famille", "situation"}``; POST
    ``situation`` to ``/calculate`` and read the benefits at ``familles[famille]``. The claimant's pseudonym stays
    out: the line is found by the row's ``situation_id`` alone."""
    lines = (rows.select("claimant_id", "situation_id").drop_nulls("situation_id")
             .join(situations, on="claimant_id", how="left", maintain_order="left"))
    missing = lines.get_column("situation").null_count()
    if missing:
        raise ValueError(f"{Path(path).name}: {missing} rows have a situation_id but no situation")
    text = lines.select(pl.concat_str(pl.lit('{"situation_id":"'), "situation_id", pl.lit('","famille":"'), "famille",
                                      pl.lit('","situation":'), "situation", pl.lit("}\n"))).to_series()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(text.to_list()), encoding="utf-8")
    return path


def read_situation(list_path: str | Path, situation_id: str) -> tuple[str, dict[str, Any]]:
    """(famille key, situation) of a row of an outreach list, from ``openfisca/<agency>.jsonl`` beside the list
    (``outreach_<agency>.csv`` or ``.parquet``): what ``nonrecours outreach situation`` prints to replay it."""
    from nonrecours.errors import SchemaError

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
                return row["famille"], row["situation"]
    raise SchemaError(f"no situation {situation_id} (a row without situation_id has none: its famille spans "
                      "several dwellings)", table=source.name, column="situation_id")
