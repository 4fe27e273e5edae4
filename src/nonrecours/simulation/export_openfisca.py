"""Engine input frames → OpenFisca-France web-API situations (the JSON ``/calculate`` accepts).

Used to replay a case in an OpenFisca engine (an agent checking a flagged household in the mes-aides
simulator, the differential harness in ``tests/oracle``), by synth (the OpenFisca-labelled truth), detection
(each flag's situation) and ``outputs.situations`` (the outreach lists' situation files). It reads the frames
of :class:`nonrecours.engine.Inputs` for one evaluated month, never OpenFisca itself (this module does not
import it: AGPL).

One situation per ménage of the selected familles. Conventions (those of the reference cases,
SITUATION_FORMAT.md, so that OpenFisca reads our inputs as our rules do):
- every monthly amount is stated for each month from January of year N-2 to December of year N (the
  yearly ARS and chèque énergie read the autumn); a month before the earliest month the frames hold repeats
  the earliest month, a month after the evaluated month repeats it (resources assumed stable, as the
  situations state); nothing is stated before year N-2, so the income of reference of a month of year N-1
  (year N-3) is zero in OpenFisca as in our rules;
- taxable amounts follow the mes-aides ratios (``SALARY_TAXABLE``...), gross salary is net / 0.78, gross
  pension is ``pension_gross``;
- family benefits and housing aid paid (af, paje_base, asf, aide_logement_versee: OpenFisca's
  ``aide_logement`` and ``aide_logement_montant``) are inputs of the twelve months before the evaluated
  month (``benefits_paid=True``; a month without a row was paid 0; a housing aid whose payment is unknown,
  ``aide_logement_versee_connue`` false, is not stated, nor are family benefits whose payments are unknown,
  ``prestations_versees_connues`` false: OpenFisca computes them, as our rules do; the ASPA paid likewise, stated
  only where an ASPA payer's payments are known, ``aspa_versee_connue``); the evaluated month itself is
  computed; the AAH
  paid (``aah_versee``, per dossier) where it is known, as the ``aah`` of the parent with the higher
  disability rate and 0 for the other members, and the ASI paid (``asi_versee``, per person, summed over the
  famille) where it is known, as the ``asi`` of the months before of the parent with the larger invalidity
  pension (``_member_paid``);
- the DGFiP's yearly amounts of year N-2 are not stated: OpenFisca reads the months stated for that year, as the
  reference situations state them; the non-salaried profits (``revenus_non_salaries_n2``, which our family
  benefits and revenu fiscal de référence read) have no monthly counterpart;
- the last yearly non-salaried profit known (``revenus_non_salaries_connus``, the months of year Y reading year
  Y-1's, else Y-2's) is OpenFisca's ``rpns_autres_revenus`` of year Y-1, where above 0: its RSA and prime
  d'activité read the last positive one of years N, N-1, N-2 (``ppa_rsa_derniers_revenus_tns_annuels_connus``), its
  CSS, ASPA and ASI year N-1's, as ours; its family benefits then count it as year N-2's profit of the year after;
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from nonrecours.core.resources import KNOWN_PROFIT
from nonrecours.engine import round_columns
from nonrecours.engine.plan import add_months
from nonrecours.rules.benefits.common import PENSION_TAXABLE, SALARY_TAXABLE, UNEMPLOYMENT_TAXABLE
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.codes import FAMILY_BENEFITS_PAID, PARENT_ROLES
from nonrecours.schemas.months import month_index, month_of_index_expr

__all__ = ["EXPORTED_OUTPUTS", "SITUATIONS_SCHEMA", "VOCABULARY", "Export", "export_situations", "flagged_situations"]

NET_TO_GROSS_SALARY = 0.78
NATIONALITY_CODE = {"FR": "FR", "EEA_CH": "DE", "OTHER": "ZZ"}
"""A representative ISO code per nationality group (ZZ: user-assigned, outside the EEA)."""
HOUSING = {"tenant": "locataire_vide", "tenant_furnished": "locataire_meuble", "social_tenant": "locataire_hlm",
           "foyer": "locataire_foyer", "owner": "proprietaire", "owner_with_loan": "primo_accedant",
           "free": "loge_gratuitement", "homeless": "sans_domicile"}
VOCABULARY = frozenset({"marie", "pacse", "actif", "chomeur", "retraite", "inactif", *HOUSING.values()})
"""OpenFisca's words the export writes as values (« marie » is statut_marital, and a first name too): a name
scanner over situations leaves these out."""
PAID = ("af", "paje_base", "asf", "aide_logement", "aspa")
PAID_COLUMNS = {"af": "af", "paje_base": "paje_base", "asf": "asf", "aide_logement": "aide_logement_versee",
                "aspa": "aspa_versee"}
"""Our input column of each OpenFisca variable stated as paid."""
KNOWN_FLAG = {**dict.fromkeys(FAMILY_BENEFITS_PAID, "prestations_versees_connues"),
              "aide_logement": "aide_logement_versee_connue", "aspa": "aspa_versee_connue"}
"""The famille input saying whether each benefit of ``PAID`` is known paid (the rules read the paid amount where it
is, the one they compute elsewhere)."""
MONTH_COMPUTED = ("aspa", "asi")
"""Paid benefits whose evaluated month is computed by OpenFisca even where the month's payments are stated
(``paid_this_month``): no rule reads the ASPA or the ASI paid in the month itself (the CSS reads the twelve
before), and their amount of the month is an entitlement OpenFisca labels
(``synth.extracts.entitlements_from_openfisca``)."""
SUBSIDIARY_MONTH = ("af", "paje_base", "asf", "aide_logement")
"""Paid benefits whose evaluated month is computed by OpenFisca, even where the month's payments are stated, for a
famille whose RSA counts the benefits due (``rsa_subsidiarite``, the core's default: CASF art. L262-10): OpenFisca's
RSA then counts the family benefits and the housing aid due in the month, where ours counts the larger of the one
paid and the one due (the synthetic truth pays a famille either nothing or the amount due: the same figure).
OpenFisca's CSS reads the same housing aid of the month (its ``css_cmu_forfait_logement_al``) where ours reads
the aid received (CSS art. R861-5 has no subsidiarity): a famille due a housing aid it does not take up gets
OpenFisca's forfait in its CSS; the OpenFisca-labelled truth labels the CSS in a pass stating the aid paid
(``synth.extracts.entitlements_from_openfisca``)."""
PAID_ALSO = {"aide_logement": "aide_logement_montant"}
"""OpenFisca variables stated with the same paid amounts as another: its majoration pour la vie autonome (``caah``)
reads whether a housing aid is paid from ``aide_logement_montant``, which it otherwise computes itself in each past
month (0 € where ours reads the aid stated paid: d11501-2238, d11901-3933, d11901-4158)."""
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


def _also(v: str, series: str | None = None) -> list[pl.Expr]:
    """The paid block of ``v`` again under its :data:`PAID_ALSO` name (the same months and amounts, read from the
    column ``series``, by default ``v``; nothing asked)."""
    if v not in PAID_ALSO:
        return []
    return [pl.lit(f',"{PAID_ALSO[v]}":{{'), pl.col(series or v), pl.lit("}")]


PERSON_PAID = {"aah": ("aah_versee", "aah_versee_connue"), "asi": ("asi_versee", "asi_versee_connue")}
"""OpenFisca's per-person variables stated as paid: our famille input holding the payment and its known flag. The
AAH is paid per dossier, the ASI per person (summed over the famille by the core); OpenFisca reads both per person."""


def _member_paid(ind: pl.DataFrame, fam: pl.DataFrame, fm: pl.DataFrame | None, paid_months: pl.DataFrame,
                 v: str, rank: pl.DataFrame) -> pl.DataFrame | None:
    """OpenFisca's ``v`` of :data:`PERSON_PAID` (per person) in ``paid_months`` for the familles whose payment of it
    is known: the famille's payment goes to the parent ranked first by ``rank`` (person_id, _rank: the higher
    disability rate for the AAH, the larger invalidity pension for the ASI; the demandeur on a tie), the other
    members get 0, so OpenFisca counts the benefit received as our rules do (``aah_percue``,
    ``asi_percue_individuelle``). Our rules share a payment among members in proportion to what they compute; with
    two members entitled the export differs. One row per member and paid month (``person_id``, ``month``,
    ``period``, ``v``); None when none is known."""
    column, flag = PERSON_PAID[v]
    if fm is None or column not in fm.columns or flag not in fam.columns or paid_months.is_empty():
        return None
    known = fam.filter(pl.col(flag)).select("famille_id")
    members = ind.join(known, on="famille_id", how="semi")
    if members.is_empty():
        return None
    parents = members.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"])).join(
        rank, on="person_id", how="left")
    who = (parents.sort(["famille_id", pl.col("_rank").fill_null(-1.0), pl.col("famille_role") == "demandeur"],
                        descending=[False, True, True])
           .unique("famille_id", keep="first", maintain_order=True)
           .select("famille_id", pl.col("person_id").alias("who")))
    return (members.select("famille_id", "person_id").join(who, on="famille_id", how="left")
            .join(paid_months, how="cross")
            .join(fm.select("famille_id", "month", column), on=["famille_id", "month"], how="left")
            .with_columns(pl.when(pl.col("person_id") == pl.col("who"))
                          .then(pl.col(column).fill_null(0.0).clip(lower_bound=0.0)).otherwise(0.0)
                          .round(2).alias(v))
            .select("person_id", "month", "period", v))


def _num(expr: pl.Expr) -> pl.Expr:
    """A float written as ``json.dumps`` writes it (Python's ``repr``), so the texts are those of the dict export.

    Polars writes the same shortest round-trip digits except in two places, fixed here: a one-digit negative
    exponent (``1e-9``, Python ``1e-09``) and fixed notation below 1e-4 (``0.00001``, Python ``1e-05``).
    Amounts rounded to the cent never reach either; unrounded amounts (a paid benefit as the CAF sent it) might.
    Use it over a whole column (``with_columns``), not inside an aggregation (it would run once per group).
    """
    return expr.cast(pl.Float64).map_batches(_num_text, return_dtype=pl.String)


def _num_text(x: pl.Series) -> pl.Series:
    text = x.cast(pl.String)
    odd = (((x.abs() < 1e-4) & (x != 0)) | text.str.contains("e-", literal=True)).fill_null(False)
    if not odd.any():
        return text
    rows = pl.DataFrame({"s": text.filter(odd)})
    g = pl.col("s").str.extract_groups(r"^(-?)0\.(0*)([1-9])(\d*)$")
    tail = g.struct.field("4")
    sci = pl.concat_str(g.struct.field("1"), g.struct.field("3"),
                        pl.when(tail != "").then(pl.lit(".") + tail).otherwise(pl.lit("")), pl.lit("e-"),
                        (g.struct.field("2").str.len_chars() + 1).cast(pl.String).str.zfill(2))
    fixed = rows.select(pl.when(pl.col("s").str.contains("e", literal=True))
                        .then(pl.col("s").str.replace(r"e-(\d)$", "e-0${1}")).otherwise(sci)).to_series()
    return text.scatter(odd.arg_true(), fixed)


def _cents(expr: pl.Expr) -> pl.Expr:
    """A float already rounded to the cent: Polars' text is Python's (0 or at least 0.005, no small exponent)."""
    return expr.cast(pl.String)


def _bool(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.cast(pl.Boolean).fill_null(False)).then(pl.lit("true")).otherwise(pl.lit("false"))


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), expr, pl.lit('"'))


def _item(value: pl.Expr) -> pl.Expr:
    """``"YYYY-MM":value`` of a row with a ``period`` column: joined with "," per unit, the body of a series."""
    return pl.concat_str(pl.lit('"'), pl.col("period"), pl.lit('":'), value)


def _first_rank(keys: list[str]) -> pl.Expr:
    """Ordinal (0, 1...) of a unit within its ménage, in the order its first member appears (a dict's keys)."""
    return pl.col("_row").min().over(["position", *keys]).rank("dense").over("position").cast(pl.Int64) - 1


def _column(df: pl.DataFrame, name: str) -> pl.Expr:
    """A column that may be absent (then null, as ``row.get`` read it)."""
    return pl.col(name) if name in df.columns else pl.lit(None)


_STATED = {
    "individus": frozenset({"date_naissance", "nationalite", "duree_possession_titre_sejour", "taux_incapacite",
                            "aah_restriction_substantielle_durable_acces_emploi", "inapte_travail", "etudiant",
                            "enceinte", "activite", "statut_marital", *_AMOUNTS}),
    "familles": frozenset({"parents", "enfants", "rsa_isolement_recent", *PAID_ALSO.values()}),
    "menages": frozenset({"personne_de_reference", "conjoint", "enfants", "autres", "depcom",
                          "statut_occupation_logement", "loyer", "coloc", "logement_chambre",
                          "aide_logement_date_pret"}),
}
"""Inputs the export states whatever the request: requesting one would overwrite the input, so it is refused. The
paid benefits (``aah``, the familles' :data:`PAID`) are not here: a request extends their series with the month
(their :data:`PAID_ALSO` twins are: a request would replace the stated series)."""


def _situation_texts(frames: Mapping[str, pl.DataFrame] | Any, month: dt.date,
                     famille_ids: Sequence[Any] | pl.Series | None, *, benefits_paid: bool,
                     requested: Mapping[str, Sequence[str]], paid_this_month: bool,
                     zero_series: bool, subsidiary_month: Sequence[str] = SUBSIDIARY_MONTH,
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``position``, ``situation``: compact JSON) per ménage in ménage order, and the famille index of
    :class:`Export`, built with Polars expressions (no Python loop over persons or dwellings).

    ``zero_series``: keep a person's amount series that is 0 in every month once any person of the batch has a
    non-zero one (the dict export, unchanged); False drops it, so a ménage's text does not depend on the others.
    The texts are those ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes of the dicts
    :func:`export_situations` returns, keys in the same order.
    """
    for entity, names in requested.items():
        clash = sorted(set(names) & _STATED.get(entity, frozenset()))
        if clash:
            raise ValueError(f"export_situations: {entity} {', '.join(clash)} is stated as an input, not requested")
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
    n_window = month_index(month) - month_index(start) + 1
    whole = f"month:{_ym(start)}:{n_window}"  # only for variables OpenFisca dispatches (not divides)
    periods = [_ym(add_months(start, k)) for k in range(n_window)]
    # resources are stable up to December of year N (SITUATION_FORMAT.md): the yearly benefits (ARS, chèque
    # énergie) read the months after M (a child's earnings in the autumn), so those months are stated too
    later = [add_months(month, k) for k in range(1, 13 - month.month)]
    income_df = pl.DataFrame({"month": [*(add_months(start, k) for k in range(n_window)), *later]},
                             schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.strftime("%Y-%m").alias("period"))
    period, year = _ym(month), f"{month.year:04d}"

    def asked(v: str) -> str:  # the request of v: ``"v":{"<period>":null}``
        return f'"{v}":{{"{year if v in YEARLY else period}":null}}'

    # -- members, one row per person in (ménage, famille, person) order, with their keys in the situation --
    mem = (ind.join(fam.select("famille_id", _column(fam, "couple_kind").cast(pl.String).alias("couple_kind"),
                               _column(fam, "recent_isolation").cast(pl.Boolean).alias("recent_isolation"),
                               _column(fam, "hosted_free_of_charge").cast(pl.Boolean).alias("hosted_free_of_charge"),
                               pl.lit(True).alias("_has_row")), on="famille_id", how="left")
           .join(men.select("menage_id", pl.lit(True).alias("_has_menage")), on="menage_id", how="left")
           .sort("menage_id", "famille_id", "person_id", nulls_last=True)
           .with_columns(position=(pl.col("menage_id").ne_missing(pl.col("menage_id").shift(1))).cum_sum()
                         .cast(pl.Int64) - 1))
    mem = mem.with_columns(_row=pl.int_range(pl.len(), dtype=pl.Int64).over("position"),
                           hosted=pl.col("hosted_free_of_charge").cast(pl.Boolean).fill_null(False))
    mem = mem.with_columns(_mgroup=pl.when(pl.col("hosted")).then(pl.col("famille_id")))
    mem = mem.with_columns(pid=pl.concat_str(pl.lit("i"), pl.col("_row")), f_rank=_first_rank(["famille_id"]),
                           ff_rank=_first_rank(["foyer_fiscal_id"]), m_rank=_first_rank(["_mgroup"]))
    for check, what in (("_has_menage", "ménage number {} has no row in the menage frame"),
                        ("_has_row", "a member of ménage number {} belongs to a famille without a row in the "
                                     "famille frame")):
        bad = mem.filter(pl.col(check).is_null())
        if bad.height:  # named by its position only: a key is a pseudonym
            raise ValueError("export_situations: " + what.format(int(bad["position"].min()) + 1))

    # -- a person's amount series over the window (earliest known month carried back) and activity ---------
    im = _frame(frames, "individu_monthly")
    if im is not None and im.height:
        have = [c for c in _MONEY if c in im.columns]
        im = im.join(ind.select("person_id"), on="person_id", how="semi").filter(pl.col("month") <= month).select(
            "person_id", "month", *have)
        im = im.with_columns(*(pl.lit(0.0).alias(c) for c in _MONEY if c not in have))
        # a person whose every amount is 0 (or missing) in every month has the same series as any other such
        # person (zeros, inactive): written once as a literal; the month grid is built for the others only
        active = im.group_by("person_id").agg(
            pl.any_horizontal(*(pl.col(c) != 0 for c in _MONEY)).any().alias("_active"))
        grid = (active.filter("_active").select("person_id").join(income_df, how="cross")  # months in order
                .join(im, on=["person_id", "month"], how="left", maintain_order="left")
                .with_columns(*(pl.col(c).backward_fill().over("person_id").forward_fill().over("person_id")
                                .fill_null(0.0) for c in _MONEY)))
        # each month's amount to the cent, a payslip's, rounded as the rules round (half away from zero)
        grid = grid.with_columns(round_columns(grid.select(*(e.alias(v) for v, e in _AMOUNTS.items())), 2))
        used = [v for v in _AMOUNTS if grid.select((pl.col(v) != 0).any()).item()]
        activite = (pl.when(pl.col("salary_net") > 0).then(pl.lit("actif"))
                    .when(pl.col("unemployment") > 0).then(pl.lit("chomeur"))
                    .when(pl.col("pension_net") > 0).then(pl.lit("retraite")).otherwise(pl.lit("inactif")))
        series = grid.select("person_id", _item(_quoted(activite)).alias("activite")).group_by("person_id").agg(
            pl.col("activite").str.join(","))
        nonzero = grid.group_by("person_id").agg(*((pl.col(v) != 0).any().alias(v) for v in used))
        for v in used:  # a person's series of zeros is left out unless zero_series
            rows = grid if zero_series else grid.join(nonzero.filter(v).select("person_id"), on="person_id",
                                                      how="semi")
            series = series.join(rows.select("person_id", _item(_cents(pl.col(v))).alias(v))
                                 .group_by("person_id").agg(pl.col(v).str.join(",")), on="person_id", how="left")
        block = pl.concat_str(
            *(pl.when(pl.col(v).is_not_null()).then(pl.concat_str(pl.lit(f',"{v}":{{'), pl.col(v), pl.lit("}")))
              .otherwise(pl.lit("")) for v in used),
            pl.lit(',"activite":{'), pl.col("activite"), pl.lit("}"))
        income_periods = income_df.get_column("period").to_list()
        zeros = "".join(f',"{v}":{{' + ",".join(f'"{p}":0.0' for p in income_periods) + "}"
                        for v in (used if zero_series else ()))
        idle = zeros + ',"activite":{' + ",".join(f'"{p}":"inactif"' for p in income_periods) + "}"
        series = pl.concat([series.select("person_id", block.alias("_series")),
                            active.filter(~pl.col("_active")).select("person_id", pl.lit(idle).alias("_series"))])
    else:
        series = pl.DataFrame(schema={"person_id": ind.schema["person_id"], "_series": pl.String})

    # -- the last yearly non-salaried profit known: OpenFisca-France's ``rpns_autres_revenus`` of year N-1 of each
    # year read (its RSA and prime d'activité read the last one known, its CSS and ASPA year N-1's); a profit of 0
    # or a deficit, which our rules count for zero, is not stated; a month whose value is missing does not hide
    # the year's ------------------------------------------------------------------------------------------------
    profit = pl.DataFrame(schema={"person_id": ind.schema["person_id"], "_profit": pl.String})
    raw = _frame(frames, "individu_monthly")
    if raw is not None and KNOWN_PROFIT in raw.columns:
        yearly = (raw.join(ind.select("person_id"), on="person_id", how="semi").filter(pl.col("month") <= month)
                  .sort("month").group_by("person_id", (pl.col("month").dt.year() - 1).alias("_y"))
                  .agg(pl.col(KNOWN_PROFIT).drop_nulls().last()).filter(pl.col(KNOWN_PROFIT).fill_null(0.0) > 0)
                  .sort("person_id", "_y"))
        yearly = yearly.with_columns(pl.concat_str(pl.lit('"'), pl.col("_y").cast(pl.String), pl.lit('":'),
                                                   _num(pl.col(KNOWN_PROFIT))).alias("_p"))
        profit = (yearly.group_by("person_id", maintain_order=True).agg(pl.col("_p").str.join(","))
                  .select("person_id", pl.concat_str(pl.lit(',"rpns_autres_revenus":{'), "_p", pl.lit("}"))
                          .alias("_profit")))

    # -- paid benefits over the twelve months before (and the month itself if asked) ------------------------
    fm = _frame(frames, "famille_monthly")
    last = 0 if paid_this_month else 1
    paid_months = pl.DataFrame({"month": [add_months(month, -k) for k in range(PAID_MONTHS, last - 1, -1)]},
                               schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.strftime("%Y-%m").alias("period"))
    # the AAH and the ASI paid, per person (``PERSON_PAID``); the ASI of the evaluated month is always computed
    # (``MONTH_COMPUTED``)
    invalidity = (raw.filter(pl.col("month") <= month).group_by("person_id")
                  .agg(pl.col("invalidity_pension").fill_null(0.0).sum().alias("_rank"))
                  if raw is not None and "invalidity_pension" in raw.columns
                  else pl.DataFrame(schema={"person_id": ind.schema["person_id"], "_rank": pl.Float64}))
    ranks = {"aah": ind.select("person_id", pl.col("disability_rate").cast(pl.Float64).alias("_rank")),
             "asi": invalidity}
    stated_paid = pl.DataFrame(schema={"person_id": ind.schema["person_id"]})
    for v in PERSON_PAID:
        computed = v in MONTH_COMPUTED
        months = paid_months.filter(pl.col("month") < month) if computed else paid_months
        close = (f',"{period}":null}}' if v in requested.get("individus", ()) and (computed or not paid_this_month)
                 else "}")
        got = _member_paid(ind, fam, fm, months, v, ranks[v]) if benefits_paid else None
        if got is None:
            stated = pl.DataFrame(schema={"person_id": ind.schema["person_id"], f"_{v}": pl.String})
        else:
            stated = (got.sort("person_id", "month").select("person_id", _item(_cents(pl.col(v))).alias(f"_{v}"))
                      .group_by("person_id").agg(pl.col(f"_{v}").str.join(","))
                      .select("person_id", pl.concat_str(pl.lit(f',"{v}":{{'), f"_{v}", pl.lit(close)).alias(f"_{v}")))
        stated_paid = stated_paid.join(stated, on="person_id", how="full", coalesce=True)

    # -- individus ---------------------------------------------------------------------------------------
    born = (pl.when(pl.col("date_naissance").dt.year() > 1800).then(pl.col("date_naissance"))
            if ind.schema.get("date_naissance") == pl.Date else pl.when(pl.lit(False)).then(pl.lit(None, pl.Date)))
    months_back = month_index(month) - 6 - 12 * _column(mem, "age").cast(pl.Int64)
    birth = born.otherwise(month_of_index_expr(months_back)).dt.strftime("%Y-%m-%d")
    group = _column(mem, "nationality_group").cast(pl.String)
    nationality = (pl.when(group.is_null() | (group == "")).then(pl.lit("FR"))
                   .otherwise(group.replace_strict(NATIONALITY_CODE, default="ZZ", return_dtype=pl.String)))
    role = pl.col("famille_role")
    married = (role.ne_missing("enfant") & _column(mem, "couple_kind").is_in(["married", "pacs"]).fill_null(False))
    w = f'{{"{whole}":'
    person = pl.concat_str(
        pl.lit('"'), pl.col("pid"), pl.lit('":{"date_naissance":{"ETERNITY":"'), birth,
        pl.lit(f'"}},"nationalite":{w}"'), nationality,
        pl.lit(f'"}},"duree_possession_titre_sejour":{w}'),
        _num(_column(mem, "residence_permit_years").cast(pl.Float64).fill_null(0.0)),
        pl.lit(f'}},"taux_incapacite":{w}'), _num(_column(mem, "disability_rate").cast(pl.Float64).fill_null(0.0)),
        pl.lit(f'}},"aah_restriction_substantielle_durable_acces_emploi":{w}'), _bool(_column(mem, "rsdae")),
        pl.lit(f'}},"inapte_travail":{w}'), _bool(_column(mem, "unfit_for_work")),
        pl.lit(f'}},"etudiant":{w}'), _bool(_column(mem, "student")),
        pl.lit(f'}},"enceinte":{w}'), _bool(_column(mem, "pregnant")), pl.lit("}"),
        pl.col("_series").fill_null(f',"activite":{w}"inactif"}}'),
        pl.col("_profit").fill_null(""),
        *(pl.col(f"_{v}").fill_null("") for v in PERSON_PAID),
        pl.when(married).then(pl.concat_str(
            pl.lit(f',"statut_marital":{w}"'),
            pl.when(pl.col("couple_kind") == "married").then(pl.lit("marie")).otherwise(pl.lit("pacse")),
            pl.lit('"}'))).otherwise(pl.lit("")),
        *((pl.when(pl.col(f"_{v}").is_not_null()).then(pl.lit("")).otherwise(pl.lit("," + asked(v)))
           if v in PERSON_PAID else pl.lit("," + asked(v))) for v in requested.get("individus", ())),
        pl.lit("}"))
    mem = (mem.join(series, on="person_id", how="left").join(profit, on="person_id", how="left")
           .join(stated_paid, on="person_id", how="left")
           .sort("position", "_row"))
    if mem.select((birth.is_null()).any()).item():
        raise ValueError("export_situations: a person has neither a birth date nor an age")
    individus = (mem.select("position", person.alias("individus"))
                 .group_by("position", maintain_order=True).agg(pl.col("individus").str.join(",")))

    # -- familles ------------------------------------------------------------------------------------------
    parent = role.is_in(PARENT_ROLES).fill_null(False)
    quoted = _quoted(pl.col("pid"))
    fams = mem.group_by("position", "f_rank", maintain_order=True).agg(
        pl.col("famille_id").first(), pl.col("m_rank").first(), pl.col("recent_isolation").first(),
        quoted.filter(parent).str.join(",").alias("parents"), quoted.filter(~parent).str.join(",").alias("enfants"))
    paid_block = []
    # a paid benefit is stated where its famille's flag says its payments are known; without the flag, as the
    # rules' declared default of that flag says (the family benefits and housing aid known, the ASPA not)
    inputs = default_registry().inputs
    known = {v: pl.lit(benefits_paid and bool(inputs[KNOWN_FLAG[v]].default)) for v in PAID}
    if benefits_paid:
        grid = fam.select("famille_id").join(paid_months, how="cross")
        if fm is not None and fm.height:
            have = {v: PAID_COLUMNS[v] for v in PAID if PAID_COLUMNS[v] in fm.columns}
            grid = grid.join(fm.select("famille_id", "month", *(pl.col(c).alias(v) for v, c in have.items())),
                             on=["famille_id", "month"], how="left")
        grid = grid.with_columns(*(pl.col(c).fill_null(0.0) if c in grid.columns else pl.lit(0.0).alias(c)
                                   for c in PAID))
        extend = {v: f',"{period}":null}}' if v in requested.get("familles", ())
                  and (not paid_this_month or v in MONTH_COMPUTED) else "}" for v in PAID}
        before = pl.col("month") < pl.lit(month)
        # the month computed by OpenFisca for a famille under the RSA's subsidiarity (``SUBSIDIARY_MONTH``)
        subsidiary = [v for v in PAID if paid_this_month and v in subsidiary_month and v not in MONTH_COMPUTED
                      and "rsa_subsidiarite" in fam.columns]
        ask_month = {v: f',"{period}":null}}' if v in requested.get("familles", ()) else "}" for v in subsidiary}
        paid = (grid.sort("famille_id", "month").select(
            "famille_id", *((pl.when(before).then(_item(_num(pl.col(v)))) if v in MONTH_COMPUTED and paid_this_month
                             else _item(_num(pl.col(v)))).alias(v) for v in PAID),
            *(pl.when(before).then(_item(_num(pl.col(v)))).alias(f"_m_{v}") for v in subsidiary))
                .group_by("famille_id").agg(*(pl.col(v).str.join(",") for v in PAID),
                                            *(pl.col(f"_m_{v}").str.join(",") for v in subsidiary))
                .select("famille_id", *(pl.concat_str(pl.lit(f',"{v}":{{'), pl.col(v), pl.lit(extend[v]),
                                                      *_also(v)).alias(f"_paid_{v}") for v in PAID),
                        *(pl.concat_str(pl.lit(f',"{v}":{{'), pl.col(f"_m_{v}"), pl.lit(ask_month[v]),
                                        *_also(v, f"_m_{v}")).alias(f"_paidm_{v}") for v in subsidiary)))
        fams = fams.join(paid, on="famille_id", how="left")
        if subsidiary:
            under = fams.join(fam.select("famille_id", "rsa_subsidiarite"), on="famille_id", how="left").get_column(
                "rsa_subsidiarite").fill_null(False)
            fams = fams.with_columns(pl.when(under).then(pl.col(f"_paidm_{v}")).otherwise(pl.col(f"_paid_{v}"))
                                     .alias(f"_paid_{v}") for v in subsidiary)
        # a benefit whose payments are unknown is left for OpenFisca to compute, as our rules compute it (family
        # benefits stated 0: OpenFisca's prime d'activité read no AF where ours counts it)
        flags = sorted({f for f in KNOWN_FLAG.values() if f in fam.columns})
        if flags:
            fams = fams.join(fam.select("famille_id", *flags), on="famille_id", how="left")
        for v in PAID:
            if KNOWN_FLAG[v] in flags:
                known[v] = pl.col(KNOWN_FLAG[v]).ne_missing(False)
        paid_block = [pl.when(known[v]).then(pl.col(f"_paid_{v}")).otherwise(pl.lit("")) for v in PAID]
    asks = []
    for v in requested.get("familles", ()):  # a paid benefit: past months stated, this one asked
        if v in PAID:
            if not paid_this_month or v in MONTH_COMPUTED:
                asks.append(pl.when(known[v]).then(pl.lit("")).otherwise(pl.lit("," + asked(v))))
        else:
            asks.append(pl.lit("," + asked(v)))
    famille = pl.concat_str(
        pl.lit('"f'), pl.col("f_rank"), pl.lit('":{"parents":['), pl.col("parents"), pl.lit('],"enfants":['),
        pl.col("enfants"), pl.lit(f'],"rsa_isolement_recent":{w}'), _bool(pl.col("recent_isolation")), pl.lit("}"),
        *paid_block, *asks, pl.lit("}"))
    familles = (fams.sort("position", "f_rank").select("position", famille.alias("familles"))
                .group_by("position", maintain_order=True).agg(pl.col("familles").str.join(",")))

    # -- foyers fiscaux --------------------------------------------------------------------------------------
    declarant = pl.col("foyer_fiscal_role").eq_missing("declarant")
    foyers = mem.sort("position", "ff_rank", "_row").group_by("position", "ff_rank", maintain_order=True).agg(
        pl.concat_str(pl.lit('"ff'), pl.col("ff_rank").first(), pl.lit('":{"declarants":['),
                      quoted.filter(declarant).str.join(","), pl.lit('],"personnes_a_charge":['),
                      quoted.filter(~declarant).str.join(","), pl.lit("]}")).alias("_ff"))
    foyers = foyers.group_by("position", maintain_order=True).agg(pl.col("_ff").str.join(",").alias("foyers"))

    # -- ménages: one per dwelling, plus one per famille hosted free of charge --------------------------------
    demandeur, conjoint = role.eq_missing("demandeur"), role.eq_missing("conjoint")
    mens = (mem.sort("position", "m_rank", "_row")
            .group_by("position", "m_rank", maintain_order=True).agg(
                pl.col("menage_id").first(), pl.col("hosted").first(),
                quoted.filter(demandeur).head(1).str.join(",").alias("_pdr"),
                quoted.filter(conjoint).head(1).str.join(",").alias("_conj"),
                quoted.filter(~demandeur & ~conjoint).str.join(",").alias("_enf"),
                quoted.filter(demandeur).slice(1).str.join(",").alias("_pdr_more"),
                quoted.filter(conjoint).slice(1).str.join(",").alias("_conj_more"))
            .join(men.select("menage_id", "depcom", "housing_status", _column(men, "rent").alias("rent"),
                             _column(men, "colocation").cast(pl.Boolean).alias("colocation"),
                             _column(men, "chambre").cast(pl.Boolean).alias("chambre"),
                             _column(men, "loan_date").cast(pl.Date).alias("loan_date")),
                  on="menage_id", how="left"))
    status = pl.col("housing_status").replace_strict(HOUSING, default=None, return_dtype=pl.String)
    bad = mens.filter(~pl.col("hosted") & status.is_null())
    if bad.height:
        raise ValueError(f"export_situations: ménage number {int(bad['position'].min()) + 1} has a housing status "
                         f"without an OpenFisca equivalent (known: {', '.join(HOUSING)})")
    rent = _num(pl.when(pl.col("hosted")).then(pl.lit(0.0)).otherwise(pl.col("rent").cast(pl.Float64).fill_null(0.0)))
    # colocation and room: what the dwelling's lease says, not for a famille hosted free of charge (false when
    # the frame has no such column, as the engine reads the inputs' default)
    def flag(col: str) -> pl.Expr:
        return (pl.when(~pl.col("hosted") & pl.col(col).fill_null(False)).then(pl.lit("true"))
                .otherwise(pl.lit("false")))

    # an accédant's loan: its signature date (OpenFisca-France's aide_logement_date_pret, an ETERNITY variable
    # whose default, date.max, opens no aid in accession, as the engine's 9999-12-31, left out as
    # the default); not for a hosted famille
    loan = (pl.when(~pl.col("hosted") & (pl.col("loan_date") < dt.date(9999, 12, 31)).fill_null(False))
            .then(pl.concat_str(pl.lit(',"aide_logement_date_pret":{"ETERNITY":"'),
                                pl.col("loan_date").dt.strftime("%Y-%m-%d"), pl.lit('"}')))
            .otherwise(pl.lit("")))
    depcom = pl.struct(pl.col("depcom")).struct.json_encode().str.strip_prefix('{"depcom":').str.strip_suffix("}")

    def listed(name: str, col: str) -> pl.Expr:  # a role list, left out when empty
        return (pl.when(pl.col(col) != "").then(pl.concat_str(pl.lit(f',"{name}":['), pl.col(col), pl.lit("]")))
                .otherwise(pl.lit("")))

    autres = pl.concat_str(pl.col("_pdr_more"), pl.when((pl.col("_pdr_more") != "") & (pl.col("_conj_more") != ""))
                           .then(pl.lit(",")).otherwise(pl.lit("")), pl.col("_conj_more"))
    menage = pl.concat_str(
        pl.lit('"m'), pl.col("m_rank"), pl.lit('":{"personne_de_reference":['), pl.col("_pdr"), pl.lit("]"),
        listed("conjoint", "_conj"), listed("enfants", "_enf"), listed("autres", "_autres"),
        pl.lit(f',"depcom":{w}'), depcom,
        pl.lit(f'}},"statut_occupation_logement":{w}"'),
        pl.when(pl.col("hosted")).then(pl.lit("loge_gratuitement")).otherwise(status),
        pl.lit(f'"}},"coloc":{w}'), flag("colocation"), pl.lit(f'}},"logement_chambre":{w}'), flag("chambre"),
        pl.lit("}"), loan, pl.lit(',"loyer":{'),
        *(part for k, p in enumerate(periods) for part in (pl.lit(f'{"," if k else ""}"{p}":'), pl.col("_rent"))),
        pl.lit("}"), *(pl.lit("," + asked(v)) for v in requested.get("menages", ())), pl.lit("}"))
    menages = (mens.with_columns(autres.alias("_autres"), rent.alias("_rent")).sort("position", "m_rank")
               .select("position", menage.alias("menages"))
               .group_by("position", maintain_order=True).agg(pl.col("menages").str.join(",")))

    texts = (individus.join(familles, on="position").join(foyers, on="position").join(menages, on="position")
             .sort("position")
             .select("position", pl.concat_str(pl.lit('{"individus":{'), "individus", pl.lit('},"familles":{'),
                                               "familles", pl.lit('},"foyers_fiscaux":{'), "foyers",
                                               pl.lit('},"menages":{'), "menages", pl.lit("}}")).alias("situation")))
    index = fams.sort("position", "f_rank").select(
        pl.col("famille_id").cast(ind.schema["famille_id"]), "position",
        pl.concat_str(pl.lit("f"), "f_rank").alias("famille"), pl.concat_str(pl.lit("m"), "m_rank").alias("menage"))
    return texts, index


def export_situations(frames: Mapping[str, pl.DataFrame] | Any, month: dt.date,
                      famille_ids: Sequence[Any] | pl.Series | None = None, *, benefits_paid: bool = True,
                      outputs: bool | Mapping[str, Sequence[str]] = True, paid_this_month: bool = False,
                      subsidiary_month: Sequence[str] = SUBSIDIARY_MONTH) -> Export:
    """Web-API situations for the ménages of ``famille_ids`` (all familles when None) at ``month``.

    ``frames``: a dict of input frames or an :class:`~nonrecours.engine.Inputs`. ``benefits_paid``: state
    the paid family benefits and housing aid of the twelve previous months (False lets OpenFisca compute
    them). ``outputs``: request :data:`EXPORTED_OUTPUTS` (or the given ``{entity plural: variables}``) at
    ``month`` (``null`` values, as the web API's ``/calculate`` expects). ``paid_this_month``: state the
    evaluated month's paid benefits too (as our rules read them: the housing aid paid enters the RSA and PPA
    forfait logement), instead of letting OpenFisca compute them; replays a flagged case as detection saw it.
    ``subsidiary_month``: those of them still computed for the month where a famille's RSA counts the benefits
    due (``rsa_subsidiarite``: :data:`SUBSIDIARY_MONTH`; empty: every payment of the month stated).
    """
    requested: Mapping[str, Sequence[str]] = (EXPORTED_OUTPUTS if outputs is True else outputs or {})
    texts, index = _situation_texts(frames, month, famille_ids, benefits_paid=benefits_paid, requested=requested,
                                    paid_this_month=paid_this_month, zero_series=True,
                                    subsidiary_month=subsidiary_month)
    situations = json.loads("[" + ",".join(texts.get_column("situation").to_list()) + "]")  # one parse
    return Export(situations=situations, index=index)


SITUATIONS_SCHEMA: dict[str, pl.DataType] = {
    "claimant_id": pl.String(),  # the flag's claimant (a pseudonym: this table stays in the run's detection/)
    "month": pl.Date(),          # the month the situation states: where the benefits below were judged
    "benefits": pl.List(pl.String()),  # the claimant's flagged benefits judged at that month (replayed there)
    "famille": pl.String(),      # the claimant's famille key inside the situation ("f0", "f1"...)
    "situation": pl.String(),    # the web-API situation, compact JSON with neutral keys only
}
"""Detection's ``situations.parquet``: one row per claimant of a flag whose whole famille lies in one dwelling
and month the claimant's flags were judged at: the evaluated month, and for a yearly benefit judged on the
payment already due (the ARS of last August) that month (the famille, ages and resources then), so each
benefit's amount replays in the situation of the month that decided it."""


def flagged_situations(inputs: Any, month: dt.date, flags: pl.DataFrame) -> pl.DataFrame:
    """The situation of each flagged claimant's dwelling (:data:`SITUATIONS_SCHEMA`, sorted by claimant), as
    detection saw the month (``paid_this_month``: the month's paid benefits stated) with the benefits requested,
    so that POSTing it to ``/calculate`` replays our amounts.

    Left out, in one pass: a famille whose members live in several dwellings (or without a demandeur), since
    OpenFisca needs a famille's members and its reference person in one situation, so its replay would not be the
    case we detected; and a dwelling holding a person whose famille has no row, which cannot be stated whole.
    A person's amount series that is 0 in every month is not stated (OpenFisca's default): a dwelling's text
    does not depend on which other dwellings were exported with it, so a partitioned run writes the bytes of a
    run in one pass.

    ``flags``: claimant_id and benefit of the flags judged at ``month`` (``inputs`` are that month's), and
    famille_id when a claimant's famille of ``month`` must be the one the flag was judged on (a yearly benefit
    judged at an earlier month: detection passes that month's inputs and famille).
    """
    empty = pl.DataFrame(schema=SITUATIONS_SCHEMA)
    ind = _frame(inputs, "individu")
    if ind is None or flags.is_empty():
        return empty
    fam = _frame(inputs, "famille")
    has_row = (pl.col("famille_id").is_in(fam.get_column("famille_id").implode()) if fam is not None
               else pl.lit(True))
    stated_whole = ((pl.col("menage_id").n_unique().over("famille_id") == 1)
                    & (pl.col("famille_role") == "demandeur").any().over("famille_id")
                    & has_row.fill_null(False).all().over("menage_id"))
    flagged = flags.lazy().group_by("claimant_id").agg(
        (pl.col("benefit").unique().sort() if "benefit" in flags.columns
         else pl.lit([], dtype=pl.List(pl.String)).first()).alias("benefits"))
    if "famille_id" in flags.columns:  # the famille each claimant's flags were judged on, when given
        flagged = flagged.join(flags.lazy().select("claimant_id", "famille_id").unique(), on="claimant_id")
    claimants = (ind.lazy().filter(stated_whole)
                 .select(pl.col("person_id").alias("claimant_id"), "famille_id")
                 .join(flagged, on=[c for c in ("claimant_id", "famille_id") if c in flags.columns], how="inner")
                 .collect())
    if claimants.is_empty():
        return empty
    texts, index = _situation_texts(inputs, month, claimants.get_column("famille_id").unique().sort(),
                                    benefits_paid=True, requested=EXPORTED_OUTPUTS, paid_this_month=True,
                                    zero_series=False)
    index = index.join(texts, on="position").select("famille_id", "famille", "situation")
    return (claimants.join(index, on="famille_id").with_columns(pl.lit(month).alias("month"))
            .select(list(SITUATIONS_SCHEMA)).cast(SITUATIONS_SCHEMA).sort("claimant_id"))  # type: ignore[arg-type]
