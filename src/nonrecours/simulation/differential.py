"""Differential testing against OpenFisca-France: a seeded generator of situations and a comparison.

The generator draws household situations (SITUATION_FORMAT.md) covering the shapes the law distinguishes:
ages on each side of every threshold, couples of each kind, lone parents (recently isolated or not),
children 0 to 25 (some earning, some students), disability rates 0/50/79/80 % with or without RSDAE,
unfitness for work, nationalities FR / EEA (residence around three months) / other with permits around 5
and 10 years, pregnancy, dwellings with a hosted second unit, every housing status, tenants in colocation or
renting a room (``housing.colocation``/``housing.chambre``, drawn from a stream of their own so the other draws
of a seed are unchanged), accédants' loans signed before, at and after the closure of 1 January 2018 and in the
2018-2019 window (``housing.loan_date``, a stream of its own too), resources near the ceilings, months 2024-01 to
2026-12.

The comparison runs our engine and an *oracle* on the same situations. The oracle is a callable taking
OpenFisca web-API situations and returning their computed values (``tests/oracle/environment.run_oracle``
runs OpenFisca-France in its own environment): this module never imports OpenFisca (AGPL). Family
benefits and housing aid already paid are inputs of our rules; a generated situation without
``benefits_paid`` gets them from the oracle first (its af, paje_base, asf and aide_logement of the month),
which is how a CAF extract would state them, at the oracle's fixed point (``_state_paid``: the values it gives
back when they are stated for the months before).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from nonrecours.engine import Inputs, evaluate
from nonrecours.rules.benefits import SIMULATED_FLAGS, SIMULATED_OUTPUTS, SIMULATED_RULES
from nonrecours.schemas.codes import SHARED_RENTAL_STATUSES
from nonrecours.simulation.export_openfisca import EXPORTED_OUTPUTS, PAID, export_situations
from nonrecours.simulation.openfisca_process import LABEL_VARIABLES, Oracle, famille_values, our_benefits
from nonrecours.simulation.runner import OUTPUT_FIELDS
from nonrecours.simulation.situations import BENEFITS_PAID_FIELDS, MAX_MONTH, MIN_MONTH, load_situations

__all__ = ["COMPARED_FIELDS", "L262_5_DIVERGENCE", "DifferentialReport", "Oracle", "compare_with_oracle",
           "generate_situations", "public_case_agreement"]

COMPARED_FIELDS: tuple[str, ...] = SIMULATED_OUTPUTS
"""Every ``simulate`` field, derived from the benefit catalogue (schemas/benefits.py) through rules.benefits."""
BOOL_FIELDS: tuple[str, ...] = SIMULATED_FLAGS
TOLERANCE = 1.0
OPENFISCA_INTERMEDIATES = ("rsa_base_ressources", "rsa_forfait_logement", "ppa_base_ressources",
                           "ppa_forfait_logement", "asi_aspa_base_ressources", "css_cmu_base_ressources",
                           "cmu_c_plafond", "acs_plafond", "aide_logement", "aide_logement_base_ressources", "af",
                           "paje_base", "asf", "aah", "asi", "ars", "cheque_energie")
OPENFISCA_NAMES = {"ars_annual": "ars", "cheque_energie_annual": "cheque_energie"}
"""Compared amounts whose OpenFisca variable has another name (the others share ours; the CSS fields are
named by ``our_benefits``)."""
OPENFISCA_VARIABLES: dict[str, str] = {f: {"css_free": "cmu_c", "css_participation": "css_participation_forfaitaire",
                                           "css_participation_monthly": "css_participation_forfaitaire",
                                           **OPENFISCA_NAMES}.get(f, f) for f in COMPARED_FIELDS}
"""OpenFisca's variable for each compared field (a catalogue benefit added to ``simulate`` is compared under
its own name unless named here)."""
OUR_INTERMEDIATES = ("aide_logement_base_ressources", "rsa_socle", "rsa_base_ressources", "rsa_forfait_logement",
                     "ppa_revenu_activite",
                     "ppa_forfait_logement", "asi_aspa_base_ressources", "css_ressources_famille",
                     "css_forfait_logement", "aah_famille", "cf", "rsa_eligibilite", "aspa_nb_eligibles",
                     "nb_parents", "rsa_nb_parents")
L262_5_DIVERGENCE = pl.col("our_rsa_nb_parents") < pl.col("our_nb_parents")
"""Familles where a partner is left out of the RSA foyer (CASF art. L262-5), which OpenFisca-France 176.1.8
does not model: their RSA differs by construction (docs/oracle_disagreements.md)."""

AGE_THRESHOLDS = (18, 20, 21, 25, 60, 62, 64, 65, 67)
EEA = ("IT", "DE", "PT", "ES", "BE", "RO", "PL", "CH")
OTHER = ("MA", "DZ", "TN", "SN", "CN", "US", "TR")
DEPCOMS = ("75056", "92012", "69123", "13055", "59350", "67482", "33063", "46042", "23096", "2A004",
           "97411", "97105", "97209", "97302")
STATUSES = ("tenant", "tenant_furnished", "social_tenant", "foyer", "owner", "owner_with_loan", "free",
            "homeless")
SHARED_RENTAL_SHARES = (0.25, 0.15)
"""Shares of the tenant situations let in colocation and of those renting a room (drawn independently: a room
in a colocation is drawn too). Far above the population's, to compare the two ceilings and the colocataire's
charges forfait often."""
LOAN_SHARES = (0.10, 0.45, 0.20)
"""Shares of the accédants' situations with no loan date, a loan signed before 2018 (some in its last days) and
one signed in 2018 or 2019 (the window kept for « ancien » dwellings in zone 3); the rest signed from 2020, up to
the situation's month."""


def _loan_date(rng: random.Random, month: str) -> str | None:
    """An accédant's loan signature date (see :data:`LOAN_SHARES`), or None."""
    u = rng.random()
    if u < LOAN_SHARES[0]:
        return None
    if u < LOAN_SHARES[0] + LOAN_SHARES[1]:
        if rng.random() < 0.15:
            return rng.choice(("2017-12-29", "2017-12-31"))
        return (dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 6574))).isoformat()
    if u < sum(LOAN_SHARES):
        if rng.random() < 0.15:
            return rng.choice(("2018-01-01", "2018-01-02", "2019-12-31"))
        return (dt.date(2018, 1, 1) + dt.timedelta(days=rng.randint(0, 729))).isoformat()
    if rng.random() < 0.1:
        return rng.choice(("2020-01-01", "2020-01-02"))
    last = dt.date.fromisoformat(f"{month}-01")
    return (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, (last - dt.date(2020, 1, 1)).days))).isoformat()


SALARY_POINTS = (300, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 2300, 2600, 3200)
"""Net monthly salaries around the PPA exit points and CSS ceilings of common households."""


# -- generator ---------------------------------------------------------------------------------------
def _age_near(rng: random.Random, lo: int, hi: int) -> int:
    near = [a + d for a in AGE_THRESHOLDS for d in (-1, 0, 1) if lo <= a + d <= hi]
    return rng.choice(near) if near and rng.random() < 0.5 else rng.randint(lo, hi)


def _amount(rng: random.Random, points: Sequence[float], spread: float = 0.08) -> float:
    return round(rng.choice(points) * (1 + rng.uniform(-spread, spread)), 2)


def _adult(rng: random.Random, unit: str, age: int) -> dict[str, Any]:
    p: dict[str, Any] = {"role": "parent", "age": age, "unit": unit, "monthly": {}}
    m = p["monthly"]
    if age < 62 and rng.random() < 0.45:
        m["salary_net"] = _amount(rng, SALARY_POINTS)
    if age < 62 and "salary_net" not in m and rng.random() < 0.25:
        m["unemployment"] = _amount(rng, (400, 700, 1000, 1300))
    if age >= 55 and rng.random() < 0.7:
        m["pension"] = _amount(rng, (150, 400, 700, 900, 1100, 1400, 2000), 0.15)
        if rng.random() < 0.3:
            m["pension_gross"] = round(m["pension"] / rng.uniform(0.90, 0.95), 2)
    if rng.random() < 0.06:
        m["invalidity_pension"] = _amount(rng, (300, 600, 900))
    if rng.random() < 0.06:
        m["alimony_received"] = _amount(rng, (100, 200, 400))
    r = rng.random()
    if r < 0.08:
        p["disability_rate"] = rng.choice((0.5, 0.79))
        p["rsdae"] = rng.random() < 0.6
    elif r < 0.16:
        p["disability_rate"] = rng.choice((0.8, 0.85))
    if age >= 60 and rng.random() < 0.15:
        p["unfit_for_work"] = True
    if 18 <= age <= 28 and rng.random() < 0.25:
        p["student"] = True
    r = rng.random()
    if r < 0.15:
        p["nationality"] = rng.choice(EEA)
        if rng.random() < 0.5:  # years of residence in France, on each side of three months (CASF art. L262-6)
            p["residence_permit_years"] = rng.choice((0.1, 0.2, 0.25, 0.5, 1, 3, 6))
    elif r < 0.30:
        p["nationality"] = rng.choice(OTHER)
        p["residence_permit_years"] = rng.choice((None, 2, 4, 5, 6, 9, 10, 11, 15))
    return p


def _child(rng: random.Random, unit: str) -> dict[str, Any]:
    age = rng.choice((0, 1, 2, 3, 5, 10, 13, 16, 17, 18, 19, 20, 21, 22, 24, 25)) if rng.random() < 0.6 \
        else rng.randint(0, 25)
    c: dict[str, Any] = {"role": "child", "age": age, "unit": unit}
    if age >= 16 and rng.random() < 0.35:
        c["monthly"] = {"salary_net": _amount(rng, (200, 500, 900, 1300), 0.2)}
    if age >= 18 and rng.random() < 0.3:
        c["student"] = True
    if rng.random() < 0.04:
        c["disability_rate"] = rng.choice((0.5, 0.8))
    return c


def generate_situations(n: int, seed: int = 0, *, first: dt.date = MIN_MONTH, last: dt.date = MAX_MONTH,
                        months: Sequence[str] | None = None, prefix: str = "d",
                        rare: float = 0.0, senior_activity: float = 0.0) -> list[dict[str, Any]]:
    """``n`` situations drawn with ``random.Random(seed)`` (same seed, same situations); ids ``{prefix}{seed}-k``.

    Months are drawn in ``first``..``last``, or among ``months`` (YYYY-MM) when given: the oracle runs one
    simulation per distinct month, so a short list makes a fast run. ``rare``: the share of situations given one
    of the shapes the format allows and the draws above never make (:func:`_rare_shape`), from a stream of its
    own (0, the default, leaves a seed's situations as they were). ``senior_activity``: the share of situations
    where each parent aged 62 or more gets a salary or an unemployment benefit (the main draws give neither after
    62, the public cases have 27 such parents), from another stream of its own. Without ``benefits_paid``: the
    comparison states them from the oracle (see the module docstring).
    """
    rng = random.Random(seed)
    shared = random.Random(f"{seed}-colocation")
    odd = random.Random(f"{seed}-rare")
    senior = random.Random(f"{seed}-senior")
    loans = random.Random(f"{seed}-loan")
    span = (last.year - first.year) * 12 + last.month - first.month
    out = []
    for k in range(n):
        mi = rng.randint(0, span)
        month = f"{first.year + (first.month - 1 + mi) // 12:04d}-{(first.month - 1 + mi) % 12 + 1:02d}"
        if months:
            month = rng.choice(list(months))
        shape = rng.random()
        persons: list[dict[str, Any]] = []
        couple = None
        if shape < 0.25:  # elderly single or couple
            persons.append(_adult(rng, "main", _age_near(rng, 58, 92)))
            if rng.random() < 0.5:
                persons.append(_adult(rng, "main", _age_near(rng, 55, 92)))
        else:
            persons.append(_adult(rng, "main", _age_near(rng, 18, 64)))
            if rng.random() < 0.5:
                persons.append(_adult(rng, "main", _age_near(rng, 18, 66)))
            n_children = rng.choice((0, 0, 1, 1, 2, 2, 3, 4))
            youngest_parent = min(p["age"] for p in persons)
            for _ in range(n_children):  # a child is at least 16 years younger than the youngest parent
                child = _child(rng, "main")
                if child["age"] <= youngest_parent - 16:
                    persons.append(child)
        n_parents = sum(p["role"] == "parent" for p in persons)
        if n_parents == 2:
            couple = rng.choice(("married", "pacs", "cohabiting"))
        adults = [p for p in persons if p["role"] == "parent" and p["age"] < 45]
        if adults and rng.random() < 0.12:
            adults[0]["pregnant"] = True
        if rng.random() < 0.12:  # a second unit hosted free of charge: an adult child or an elderly parent
            age = rng.choice((18, 19, 20, 21, 24, 25, 26, 30)) if rng.random() < 0.6 else _age_near(rng, 60, 90)
            persons.append(_adult(rng, "second", age))
        status = rng.choice(STATUSES)
        rent = 0.0
        if status in ("tenant", "tenant_furnished", "social_tenant", "foyer", "owner_with_loan"):
            rent = round(rng.uniform(150, 1300), 2)
        housing: dict[str, Any] = {"status": status, "rent": rent}
        coloc, room = shared.random() < SHARED_RENTAL_SHARES[0], shared.random() < SHARED_RENTAL_SHARES[1]
        if status in SHARED_RENTAL_STATUSES and coloc:
            housing["colocation"] = True
        if status in SHARED_RENTAL_STATUSES and room:
            housing["chambre"] = True
        if status == "owner_with_loan":
            loan_date = _loan_date(loans, month)
            if loan_date is not None:
                housing["loan_date"] = loan_date
        sit: dict[str, Any] = {"id": f"{prefix}{seed}-{k}", "month": month, "depcom": rng.choice(DEPCOMS),
                               "housing": housing, "persons": persons}
        if couple:
            sit["couple"] = couple
        if n_parents == 1 and any(p["role"] == "child" for p in persons) and rng.random() < 0.4:
            sit["recent_isolation"] = True
        if rare and odd.random() < rare:
            _rare_shape(odd, sit)
        if senior_activity and senior.random() < senior_activity:
            for p in persons:
                if p["role"] == "parent" and p["age"] >= 62:
                    if senior.random() < 0.7:
                        p["monthly"]["salary_net"] = _amount(senior, SALARY_POINTS)
                    else:
                        p["monthly"]["unemployment"] = _amount(senior, (400, 700, 1000, 1300))
        out.append(sit)
    return out


RARE_SHAPES = ("second_unit_couple", "second_unit_child", "child_other_income", "minor_student",
               "salary_and_unemployment", "salary_and_pension", "pension_before_55", "pregnant_alone",
               "no_rent")
"""Shapes SITUATION_FORMAT.md allows that the main draws never make: a couple or a child in the hosted unit,
a child with unemployment benefit, an invalidity pension or alimony, a student under 18, earnings beside an
unemployment benefit or a pension, a pension before 55 (survivor's, early), a pregnant woman alone and recently
isolated without children (the RSA's majoration, CASF art. L262-9), a tenant stating no rent. The hosted unit's
child is drawn as any child then aged below its parent, so it may keep earnings drawn for an older child: a child
under 16 with earnings, whom the family benefits still count (CSS art. L512-3, 1°; docs/oracle_disagreements.md)."""


def _rare_shape(rng: random.Random, sit: dict[str, Any]) -> None:
    """Give ``sit`` one of :data:`RARE_SHAPES` (in place); a shape that does not fit the situation is skipped."""
    shape = rng.choice(RARE_SHAPES)
    persons = sit["persons"]
    parents = [p for p in persons if p["role"] == "parent"]
    children = [p for p in persons if p["role"] == "child"]
    second = [p for p in persons if p["unit"] == "second"]
    sit["label"] = shape  # an annotation of the format (never read by simulate): which rare shape it is
    if shape == "second_unit_couple":
        if not second:
            second.append(_adult(rng, "second", _age_near(rng, 60, 90)))
            persons.append(second[0])
        persons.append(_adult(rng, "second", max(18, min(95, second[0]["age"] + rng.randint(-6, 6)))))
        sit.setdefault("couple", rng.choice(("married", "pacs", "cohabiting")))
    elif shape == "second_unit_child":
        if not second:
            second.append(_adult(rng, "second", rng.randint(20, 40)))
            persons.append(second[0])
        child = _child(rng, "second")
        child["age"] = min(child["age"], second[0]["age"] - 16)
        persons.append(child)
    elif shape == "child_other_income" and children:
        c = rng.choice(children)
        key = rng.choice(("unemployment", "invalidity_pension", "alimony_received"))
        if key == "unemployment" and c["age"] < 18:
            key = "alimony_received"
        c.setdefault("monthly", {})[key] = _amount(rng, (150, 400, 700))
    elif shape == "minor_student" and any(14 <= c["age"] <= 17 for c in children):
        rng.choice([c for c in children if 14 <= c["age"] <= 17])["student"] = True
    elif shape == "salary_and_unemployment":
        p = rng.choice(parents)
        p["monthly"]["salary_net"] = _amount(rng, (200, 400, 700))
        p["monthly"]["unemployment"] = _amount(rng, (300, 600, 900))
    elif shape == "salary_and_pension" and any(p["age"] >= 60 for p in parents):
        p = rng.choice([p for p in parents if p["age"] >= 60])
        p["monthly"]["salary_net"] = _amount(rng, (300, 600, 1200))
        p["monthly"]["pension"] = _amount(rng, (400, 900, 1400), 0.15)
    elif shape == "pension_before_55" and any(p["age"] < 55 for p in parents):
        rng.choice([p for p in parents if p["age"] < 55])["monthly"]["pension"] = _amount(rng, (200, 500, 900))
    elif shape == "pregnant_alone" and len([p for p in parents if p["unit"] == "main"]) == 1 and not any(
            c["unit"] == "main" for c in children):
        p = next(p for p in parents if p["unit"] == "main")
        p["age"] = min(p["age"], 44)
        p["pregnant"] = True
        sit["recent_isolation"] = rng.random() < 0.6
    elif shape == "no_rent" and sit["housing"]["status"] in ("tenant", "tenant_furnished", "social_tenant"):
        sit["housing"]["rent"] = 0.0
    else:
        del sit["label"]


# -- comparison --------------------------------------------------------------------------------------
@dataclass
class DifferentialReport:
    """``units``: one row per famille with ours (``<field>``) and OpenFisca's (``of_<field>``) values and
    intermediates; ``situations``: summed per situation with ``agree_<field>`` columns and ``paid_settled``
    (false where the paid values stated from OpenFisca never stated themselves, ``_state_paid``)."""

    units: pl.DataFrame
    situations: pl.DataFrame

    @property
    def n(self) -> int:
        return self.situations.height

    @property
    def unsettled(self) -> list[str]:
        """The ids whose stated paid values OpenFisca did not give back (compared all the same, listed apart)."""
        if "paid_settled" not in self.situations.columns:
            return []
        return self.situations.filter(~pl.col("paid_settled"))["id"].to_list()

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per field: agreement overall and where OpenFisca pays (> 0 or true)."""
        out: dict[str, dict[str, Any]] = {}
        s = self.situations
        for f in COMPARED_FIELDS:
            pays = s.filter(pl.col(f"of_{f}") if f in BOOL_FIELDS else pl.col(f"of_{f}") > 0)
            out[f] = {"n": s.height, "agree": int(s[f"agree_{f}"].sum()),
                      "rate": round(float(s[f"agree_{f}"].mean() or 0.0), 4),
                      "n_openfisca_pays": pays.height, "agree_where_openfisca_pays": int(pays[f"agree_{f}"].sum()),
                      "rate_where_openfisca_pays": round(float(pays[f"agree_{f}"].mean()), 4) if pays.height
                      else None}
        return out

    def disagreements(self, limit: int = 20) -> list[dict[str, Any]]:
        """The first situations that disagree, with every unit's values and intermediates on both sides."""
        bad = self.situations.filter(~pl.all_horizontal(pl.col(f"agree_{f}") for f in COMPARED_FIELDS))
        out = []
        for row in bad.head(limit).iter_rows(named=True):
            fields = [f for f in COMPARED_FIELDS if not row[f"agree_{f}"]]
            units = self.units.filter(pl.col("id") == row["id"]).drop("famille_id", "situation").to_dicts()
            out.append({"id": row["id"], "fields": fields,
                        "ours": {f: row[f] for f in COMPARED_FIELDS},
                        "openfisca": {f: row[f"of_{f}"] for f in COMPARED_FIELDS},
                        "units": [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in u.items()}
                                  for u in units]})
        return out


def _oracle_values(batch: Any, oracle: Oracle, benefits_paid: bool,
                   requested: dict[str, tuple[str, ...]] | None = None,
                   month_computed: pl.Series | None = None) -> pl.DataFrame:
    """OpenFisca's requested famille values (individu values summed per famille), one row per famille.

    A situation whose payments hold in its month too (``benefits_paid_in_month``) has them stated there
    (``paid_this_month``), as our rules read them: its month was computed as the others' (OpenFisca then computed a
    housing aid of 455 € where 0 € was stated paid in the month, and its RSA's forfait logement took it). Its
    benefits paid (and AAH) of the month, being stated, are then asked of OpenFisca in a second pass with the
    month computed: those compared are entitlements. ``month_computed``: only these familles, month computed (that
    pass)."""
    sits: list[dict[str, Any]] = []
    index = []
    in_month_ids: list[pl.Series] = []
    for month in batch.months:
        frames = batch.frames_for_month(month)
        ids = frames["famille"].get_column("famille_id")
        if month_computed is not None:
            parts = [(ids.filter(ids.is_in(month_computed.implode())), False)]
        elif benefits_paid:
            in_month = frames["famille"].get_column("aide_logement_du_mois_connue").fill_null(False)
            parts = [(ids.filter(~in_month), False), (ids.filter(in_month), True)]
        else:
            parts = [(ids, False)]
        for famille_ids, this_month in parts:
            if famille_ids.is_empty():
                continue
            ex = export_situations(frames, month, famille_ids, benefits_paid=benefits_paid, outputs=requested or True,
                                   paid_this_month=this_month)
            index.append(ex.index.with_columns(pl.col("position") + len(sits),
                                               pl.lit(month.strftime("%Y-%m")).alias("period")))
            sits.extend(ex.situations)
            if this_month:
                in_month_ids.append(famille_ids)
    values = famille_values(pl.concat(index), sits, oracle(sits), requested or EXPORTED_OUTPUTS).with_columns(
        pl.col("famille_id").cast(pl.Int64))
    stated = [c for c in (*PAID, "aah") if c in values.columns]
    if in_month_ids and stated:
        computed = _oracle_values(batch, oracle, benefits_paid, requested, month_computed=pl.concat(in_month_ids))
        values = values.update(computed.select("famille_id", *stated), on="famille_id")
    return values


STATE_ROUNDS = 4
"""Rounds of OpenFisca asked again with the paid values it gave stated (``_state_paid``); a situation still
moving after them is reported ``unsettled``."""
STATE_MOVE = 0.5
"""A paid value moving by more than this (euros) between two rounds is not settled."""


def _paid_by_unit(situations: Sequence[dict[str, Any]], oracle: Oracle, stated: bool
                  ) -> dict[str, dict[str, dict[str, float]]]:
    """OpenFisca's family benefits and housing aid of each situation's month, by id and unit."""
    batch = load_situations(situations)
    paid = _oracle_values(batch, oracle, benefits_paid=stated, requested={"familles": BENEFITS_PAID_FIELDS})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in batch.unit_index.join(paid, on="famille_id").to_dicts():
        out.setdefault(r["id"], {})[r["unit"]] = {b: round(float(r[b]), 2) for b in BENEFITS_PAID_FIELDS}
    return out


def _moved(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> bool:
    return any(abs(after[u][b] - before.get(u, {}).get(b, 0.0)) > STATE_MOVE for u in after for b in after[u])


def _state_paid(situations: Sequence[dict[str, Any]], oracle: Oracle) -> tuple[list[dict[str, Any]], list[str]]:
    """Situations without ``benefits_paid`` get OpenFisca's family benefits and housing aid of their month, then
    are asked again with those stated as paid until the values state themselves (a fixed point); the ids still
    moving after ``STATE_ROUNDS`` rounds are returned.

    Why: with nothing stated, OpenFisca's housing aid of the month reads the RSA of the month before, whose
    forfait logement reads that month's housing aid, a loop its guard breaks at 0: the RSA of the month before
    comes out positive, the resources are neutralised as an RSA recipient's (CCH art. R822-17) and the aid is too
    high for the history it is stated in. d11300-1169 (a foyer, June 2026): 253 € with nothing stated, 139 € with
    253 € stated for the months before, 139 € again with 139 € stated; the CSS, whose forfait logement is capped
    by the aid received (CSS art. R861-5), then compared our reading of 253 € with OpenFisca's of 139 €."""
    todo = [s for s in situations if "benefits_paid" not in s]
    if not todo:
        return list(situations), []
    stated = _paid_by_unit(todo, oracle, stated=False)
    todo = [{**copy.deepcopy(s), "benefits_paid": stated[s["id"]]} for s in todo if s["id"] in stated]
    for _ in range(STATE_ROUNDS):
        if not todo:
            break
        again = _paid_by_unit(todo, oracle, stated=True)
        moving = {i for i, units in again.items() if _moved(stated[i], units)}
        stated.update({i: again[i] for i in moving})
        todo = [{**s, "benefits_paid": stated[s["id"]]} for s in todo if s["id"] in moving]
    out = []
    for s in situations:
        if "benefits_paid" not in s and s["id"] in stated:
            s = copy.deepcopy(s)
            s["benefits_paid"] = stated[s["id"]]
        out.append(s)
    return out, [s["id"] for s in todo]


def _ours(batch: Any, backend: str) -> pl.DataFrame:
    """Our values and intermediates per famille: one engine call for every month of the batch (each situation
    at its own month, the rules planned once per set of dated variants), as ``simulate_batch`` does; one call
    per month cost a plan build each (0.76 s, 35 months)."""
    rules = [SIMULATED_RULES.get(f, f) for f in OUTPUT_FIELDS]
    res = evaluate(rules, Inputs(**batch.frames), batch.person_months, backend=backend, missing_inputs="error")
    full = res.full["famille"]
    extra = [c for c in OUR_INTERMEDIATES if c in full.columns and c not in rules]
    return full.select("famille_id", *[pl.col(r).alias(f) for f, r in zip(OUTPUT_FIELDS, rules, strict=True)],
                       *[pl.col(c).alias(f"our_{c}") for c in extra])


def compare_with_oracle(situations: Sequence[dict[str, Any]], oracle: Oracle,
                        backend: str = "polars") -> DifferentialReport:
    """Our engine and the oracle on the same situations: per famille values and per situation agreement."""
    situations, unsettled = _state_paid(situations, oracle)
    batch = load_situations(situations)
    if batch.errors:
        raise ValueError(f"{len(batch.errors)} generated situations are invalid, first: {batch.errors[0]}")
    theirs = _oracle_values(batch, oracle, benefits_paid=True)
    named = our_benefits(theirs.select("famille_id", *LABEL_VARIABLES))
    theirs = theirs.join(named.select("famille_id", *(pl.col(c).alias(f"of_{c}") for c in named.columns
                                                      if c != "famille_id")), on="famille_id").with_columns(
        *(pl.col(v).alias(f"of_{f}") for f, v in OPENFISCA_NAMES.items()),
    ).rename({c: f"of_{c}" for c in OPENFISCA_INTERMEDIATES
              if c not in ("rsa", "ppa", "aspa", *OPENFISCA_NAMES.values())})
    of_cols = [c for c in theirs.columns if c.startswith("of_")]
    units = (batch.unit_index.join(_ours(batch, backend), on="famille_id", how="left")
             .join(theirs.select("famille_id", *of_cols), on="famille_id", how="left")
             .with_columns(*(pl.col(f).cast(pl.Boolean).fill_null(False) for f in BOOL_FIELDS),
                           *(pl.col(f).cast(pl.Float64).fill_null(0.0) for f in COMPARED_FIELDS
                             if f not in BOOL_FIELDS))
             .sort("situation", "famille_id"))
    sums = [pl.col(f).sum().round(2) for f in COMPARED_FIELDS if f not in BOOL_FIELDS]
    sums += [pl.col(f"of_{f}").sum().round(2) for f in COMPARED_FIELDS if f not in BOOL_FIELDS]
    anys = [pl.col(f).any() for f in BOOL_FIELDS] + [pl.col(f"of_{f}").any() for f in BOOL_FIELDS]
    per_sit = units.group_by("situation", "id", "month", maintain_order=True).agg(*sums, *anys)
    per_sit = per_sit.with_columns(
        *((pl.col(f) == pl.col(f"of_{f}")).alias(f"agree_{f}") if f in BOOL_FIELDS
          else ((pl.col(f) - pl.col(f"of_{f}")).abs() <= TOLERANCE + 1e-9).alias(f"agree_{f}")
          for f in COMPARED_FIELDS))
    return DifferentialReport(units=units, situations=per_sit.with_columns(
        (~pl.col("id").is_in(unsettled)).alias("paid_settled")))


def public_case_agreement(cases: Sequence[dict[str, Any]], oracle: Oracle) -> dict[str, dict[str, Any]]:
    """Labelled cases (``{"situation", "expected"}``) replayed through the exporter and the oracle: per
    field, how many of OpenFisca's fresh amounts agree with the labels (proves the export conventions)."""
    batch = load_situations([c["situation"] for c in cases])
    if batch.errors:
        raise ValueError(f"{len(batch.errors)} cases are invalid, first: {batch.errors[0]}")
    theirs = _oracle_values(batch, oracle, benefits_paid=True)
    units = batch.unit_index.join(theirs, on="famille_id", how="left")
    expected = {(c["situation"]["id"], u["unit"]): u for c in cases for u in c["expected"]["by_unit"]}
    fields = OPENFISCA_VARIABLES
    out: dict[str, dict[str, Any]] = {}
    rows = units.to_dicts()
    for f, var in fields.items():
        bad = []
        for r in rows:
            exp = expected[(r["id"], r["unit"])][f]
            got = r[var]
            if f == "css_participation":
                got = got > 0
            ok = bool(got) == exp if isinstance(exp, bool) else abs(float(got) - float(exp)) <= TOLERANCE + 1e-9
            if not ok:
                bad.append({"id": r["id"], "unit": r["unit"], "openfisca_now": got, "label": exp})
        out[f] = {"n_units": len(rows), "agree": len(rows) - len(bad), "rate": round(1 - len(bad) / len(rows), 4),
                  "disagreements": bad[:20]}
    return out
