"""Household situations (SITUATION_FORMAT.md) → validated engine input frames.

A situation describes one dwelling for one month; resources are stable, so every monthly amount is
repeated over the reference months the rules read (``MONTHS_BACK`` months before the evaluated month).
Validation never stops at the first bad situation: each fault becomes a :class:`SituationError`
naming the situation id and the field, the situation is left out, and the others are loaded.

Conventions (the ones the reference amounts were computed with):
- one ménage per situation; each ``unit`` is a famille; the first unit is the dwelling's household,
  any other unit is hosted free of charge (``hosted_free_of_charge``);
- in a famille the first parent is the demandeur, the second the conjoint, children are enfants;
- married and pacs parents file one tax return, cohabiting parents two; children are dependants of
  their famille's first parent; another unit files its own return;
- ``pension_gross`` defaults to ``pension / 0.926`` when absent;
- ``benefits_paid`` hold over the months before the situation's month; that month's own housing aid is
  computed (the RSA's forfait logement of the month reads it), unless the situation says
  ``"benefits_paid_in_month": true`` (an addition to the format: the stated payments hold in the month too,
  as in an agency's payment file);
- ``housing.colocation`` and ``housing.chambre`` (an addition to the format, both optional, false when absent):
  the rent is a colocataire's share of a shared dwelling, or the dwelling let is a room; they lower the housing
  aid's rent ceiling and, for a colocataire, its charges forfait (arrêté du 27 septembre 2019, art. 8 and 16).
  Only a tenant (``tenant``, ``tenant_furnished``, ``social_tenant``) may say so.
- ``housing.loan_date`` (an addition to the format, optional, ``YYYY-MM-DD``): the day an accédant
  (``owner_with_loan``, whose ``rent`` is the monthly repayment) signed the loan. A loan signed before
  1 January 2018 opens the housing aid in accession (loi de finances pour 2018, art. 126); absent, no aid in
  accession is computed (the loan is taken as signed after the closure, OpenFisca-France's default). Only an
  accédant may give it.
- a dwelling that costs its household (``RENT_PAYING_STATUSES``) with no ``housing.rent`` is read with a rent of
  0 €, as OpenFisca-France reads it (its ``loyer`` defaults to 0) and as the reference amounts were computed: a
  simulator's convention, never a fact; the batch lists these situations (``rent_absent``) and ``simulate``
  warns, naming them, since their housing aid is that of a zero rent.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import gc
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
import polars as pl

from nonrecours.engine import round_columns
from nonrecours.errors import SituationError
from nonrecours.rules.inputs import HOUSING_STATUSES
from nonrecours.rules.params import CHECKED_THROUGH, default_parameters
from nonrecours.schemas.codes import (
    FAMILY_BENEFITS_PAID,
    NET_TO_TAXABLE,
    RENT_PAYING_STATUSES,
    SHARED_RENTAL_STATUSES,
)
from nonrecours.schemas.months import add_months
from nonrecours.schemas.zonage import (
    OVERSEAS_DEPARTMENTS,
    UNMODELLED_TERRITORIES,
    overseas_department,
    unmodelled_territory,
    zonage_communes,
    zone_apl_of,
)

__all__ = [
    "BENEFITS_PAID_FIELDS",
    "MAX_MONTH",
    "MIN_MONTH",
    "MONTHLY_FIELDS",
    "MONTHS_BACK",
    "SituationBatch",
    "load_situation_json",
    "load_situations",
    "read_situation_file",
]

MONTHS_BACK = 16
"""Reference months generated before the evaluated month: the CSS reads the ASPA of months M-13..M-2,
each of which reads resources of the three months before it."""

MIN_MONTH = dt.date(2024, 1, 1)
MAX_MONTH = CHECKED_THROUGH
"""Months the parameter files cover, reference months included: through the month their values were checked for
(``rules.params.CHECKED_THROUGH``); a situation past it is refused, where a run warns (its extracts are dated)."""

MONTHLY_FIELDS: dict[str, str] = {  # situation key -> input column
    "salary_net": "salary_net",
    "unemployment": "unemployment",
    "pension": "pension_net",
    "pension_gross": "pension_gross",
    "invalidity_pension": "invalidity_pension",
    "alimony_received": "alimony_received",
}
_UNSTATED_MONTHLY: tuple[str, ...] = ("indemnites_journalieres", "autres_ressources")
"""Monthly resource inputs the format has no key for (the DRM's daily allowances and other incomes): none."""
BENEFITS_PAID_FIELDS: tuple[str, ...] = ("af", "paje_base", "asf", "aide_logement")
FAMILY_PAID_FIELDS: tuple[str, ...] = FAMILY_BENEFITS_PAID
"""The family benefits of ``benefits_paid``, known together (``prestations_versees_connues``)."""
PAID_COLUMNS: dict[str, str] = {"af": "af", "paje_base": "paje_base", "asf": "asf",
                                "aide_logement": "aide_logement_versee"}
"""Engine input column of each benefit a situation states as paid (the housing aid paid is distinct from the
``aide_logement`` the rules compute)."""
PENSION_NET_TO_GROSS = 0.926
"""Net-to-gross ratio of a pension when the gross pension is not given (SITUATION_FORMAT.md)."""

COUPLES = ("married", "pacs", "cohabiting")
EEA_CH = frozenset((
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO", "CH"))
_MONTH_RE = re.compile(r"\A(\d{4})-(\d{2})\Z", re.ASCII)
_DEPCOM_RE = re.compile(r"\A(\d{5}|2[AB]\d{3})\Z", re.ASCII)
"""ASCII digits and nothing after (``$`` matched before a final line end, a digit class any script's digits:
full-width « 2026-04 » and ``"2026-04"`` with a line end were read as April 2026)."""
_BOOL_FIELDS = ("student", "rsdae", "unfit_for_work", "pregnant", "residence_condition_exempt", "ofpra_protection")
"""Yes/no facts of a person (absent: no). ``residence_condition_exempt`` (refugee, subsidiary protection,
stateless, carte de résident: CASF art. L262-4, 2°) and ``ofpra_protection`` (refugee, subsidiary protection,
stateless only: CSS art. L816-1) are additions to the reference format, absent from OpenFisca."""


@dataclass(slots=True)
class SituationBatch:
    """Validated situations as engine input frames, plus where each famille comes from.

    ``unit_index`` has one row per famille: famille_id, situation (position in the input list), id,
    unit, month. ``errors`` lists the situations left out.
    """

    frames: dict[str, pl.DataFrame]
    unit_index: pl.DataFrame
    ids: list[str]
    errors: list[SituationError] = field(default_factory=list)
    rent_absent: list[str] = field(default_factory=list)
    """Ids of the situations whose dwelling costs its household (tenant, foyer, accédant) but gives no rent:
    read with 0 € (the module docstring)."""
    grown_children: list[str] = field(default_factory=list)
    """Ids of the situations listing a child of 25 or more in a unit: no benefit counts such a child in the unit's
    foyer (CASF art. R262-3, CSS art. R842-3, R861-2: under 25; the family benefits stop sooner), and none computes
    a right of his own, which needs a unit of his own (``simulate`` warns, naming them)."""
    keys_ignored: list[str] = field(default_factory=list)
    """Keys of the situations the format does not know and no field resembles (an author's own), ignored: sorted,
    each once (``simulate`` warns, naming them)."""

    @property
    def months(self) -> list[dt.date]:
        return sorted(self.unit_index["month"].unique().to_list())

    @property
    def person_months(self) -> pl.DataFrame:
        """(``person_id``, ``month``): each person at the evaluated month of its situation, the ``month`` frame of
        one engine call for every month of the batch (``evaluate``: the rules planned once per set of dated
        variants)."""
        return self.frames["individu"].select("person_id", "famille_id").join(
            self.unit_index.select("famille_id", "month"), on="famille_id", how="left").drop("famille_id")

    def frames_for_month(self, month: dt.date) -> dict[str, pl.DataFrame]:
        """The input frames restricted to the situations evaluated at ``month`` (the rows of other
        months' situations are dropped, so one engine call sees one evaluated month)."""
        fams = self.unit_index.filter(pl.col("month") == month).select("famille_id")
        ind = self.frames["individu"].join(fams, on="famille_id", how="semi")
        persons = ind.select("person_id")
        out = {
            "individu": ind,
            "individu_monthly": self.frames["individu_monthly"].join(persons, on="person_id", how="semi"),
            "famille": self.frames["famille"].join(fams, on="famille_id", how="semi"),
            "famille_monthly": self.frames["famille_monthly"].join(fams, on="famille_id", how="semi"),
        }
        men = ind.select("menage_id").unique()
        ffs = ind.select("foyer_fiscal_id").unique()
        out["menage"] = self.frames["menage"].join(men, on="menage_id", how="semi")
        out["foyer_fiscal"] = self.frames["foyer_fiscal"].join(ffs, on="foyer_fiscal_id", how="semi")
        return out


def read_situation_file(data: Any) -> list[Any]:
    """The situations of a parsed JSON document: a list of situations, or ``{"cases": [{"situation":
    ...}, ...]}`` (only ``situation`` is read; expected amounts are ignored)."""
    if isinstance(data, Mapping) and "cases" in data:
        cases = data["cases"]
        if not isinstance(cases, list):
            raise SituationError("'cases' must be a list", field="cases")
        return [c.get("situation") if isinstance(c, Mapping) else None for c in cases]
    if isinstance(data, list):
        return list(data)
    raise SituationError("expected a list of situations or an object with a 'cases' list")


def _month_of(text: Any) -> dt.date | None:
    if not isinstance(text, str):
        return None
    m = _MONTH_RE.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def _birth_date(month: dt.date, age: int) -> dt.date:
    """The birth date of a person ``age`` years old on the first day of ``month``: the birthday is put six
    months before, the middle of the possible dates (the convention of the reference amounts)."""
    return add_months(month, -12 * age - 6)


def _is_amount(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


class _Fault(Exception):
    def __init__(self, fld: str, message: str) -> None:
        super().__init__(message)
        self.fld, self.message = fld, message


MAX_AMOUNT = 100_000_000
"""A monthly amount of a situation is under this (euros): beyond, no household's, and the engine's exact sums of
cents overflow (one salary of 1e15 lost the whole batch, exit 5, naming no situation)."""


_TOO_MUCH = f"the monthly amounts of its persons together must be under {MAX_AMOUNT:,} euros".replace(",", " ")
"""Each amount under ``MAX_AMOUNT`` still let a famille's twelve months overflow the engine's sums (two persons with
four kinds of income at 99,999,999 €: the whole file lost, exit 5, naming no situation): their sum is bounded too
(the gross pension apart, derived from the net)."""


def _amount(v: Any, fld: str) -> float:
    if v is None:
        return 0.0
    if not _is_amount(v):
        raise _Fault(fld, "must be a number")
    if v < 0:
        raise _Fault(fld, "must not be negative")
    if v >= MAX_AMOUNT:
        raise _Fault(fld, f"must be under {MAX_AMOUNT:,} euros".replace(",", " "))
    return float(v)


_NOTES = ("comment", "note", "description", "label", "_")
"""Keys an author may add to a situation or its housing to annotate it (``comment``, ``note``..., or any key
starting with ``_``): never read, never said."""
_TYPO = 0.8
"""An unknown key this close to a field of the format (``difflib``'s ratio) is a misspelt field, refused: « colocaton »
was ignored with its value and the amounts changed silently. A key unlike any field (« name », « source ») is an
author's own: ignored, and ``simulate`` warns, naming it (refusing it would leave the situation uncomputed)."""


def _refused(what: str, key: str, known: Any) -> str:
    """The refusal of ``key`` among ``known`` (a person's fields, the monthly resources, the benefits paid): the
    closest name when there is one (« did you mean student? » for « studnet »), else the names accepted; the README
    promised the suggestion, which only the housing and the top level gave."""
    if close := _closest(key, known):
        return f"{what} (did you mean {close}?)"
    return f"{what}; expected one of {', '.join(sorted(map(str, known)))}"


def _closest(key: str, known: Any) -> str | None:
    """The accepted name ``key`` most likely misspells (``_TYPO``), if any: one reading for every refusal."""
    close = difflib.get_close_matches(key, sorted(map(str, known)), n=1, cutoff=_TYPO)
    return close[0] if close else None


def _unknown_keys(keys: Any, known: frozenset[str], where: str) -> list[str]:
    """The keys of ``keys`` neither in ``known`` nor annotations (``_NOTES``), prefixed by ``where``; a misspelt field
    among them raises."""
    ignored = []
    for key in sorted(str(k) for k in keys):
        if key in known or key.startswith(_NOTES):
            continue
        if close := _closest(key, known):
            raise _Fault(f"{where}{key}", f"unknown field (did you mean {close}?)")
        ignored.append(f"{where}{key}")
    return ignored


NO_LOAN_DATE = dt.date(9999, 12, 31)
"""The engine's ``loan_date`` when a situation gives none (the rules' declared default: no aid in accession)."""


def _loan_date(v: Any, status: str) -> dt.date:
    """``housing.loan_date``: an ISO date, only for an accédant (``owner_with_loan``)."""
    if v is None:
        return NO_LOAN_DATE
    if status != "owner_with_loan":
        raise _Fault("housing.loan_date", "only an accédant (owner_with_loan) repays a loan")
    if not isinstance(v, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v):  # not 20150101: ISO's basic form
        raise _Fault("housing.loan_date", "must be a date written YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(v)
    except ValueError:
        raise _Fault("housing.loan_date", "must be a date written YYYY-MM-DD") from None
    if not dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise _Fault("housing.loan_date", "must be a date between 1900 and 2100")
    return day


def _bool(v: Any, fld: str) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise _Fault(fld, "must be true or false")
    return v


def _parse(sit: Any) -> dict[str, Any]:
    """Check one situation and return its normalised content (raises _Fault on the first fault)."""
    if not isinstance(sit, Mapping):
        raise _Fault("situation", "must be an object")
    ignored = _unknown_keys(sit, _SITUATION_KEYS, "")
    month = _month_of(sit.get("month"))
    if month is None:
        raise _Fault("month", "must be a month written YYYY-MM")
    lo, hi = MIN_MONTH, MAX_MONTH
    if not lo <= month <= hi:
        raise _Fault("month", f"outside the months the parameters cover ({lo:%Y-%m} to {hi:%Y-%m})")
    depcom = sit.get("depcom")
    if not isinstance(depcom, str) or not _DEPCOM_RE.match(depcom):
        raise _Fault("depcom", "must be a 5-character INSEE commune code")
    if depcom.startswith(UNMODELLED_TERRITORIES):
        raise _Fault("depcom", "this overseas territory is not modelled (mainland France and 971-974 only)")
    if depcom not in zonage_communes():
        raise _Fault("depcom", "commune code absent from the zoning table of housing aid (zone unknown)")
    housing = sit.get("housing")
    if not isinstance(housing, Mapping):
        raise _Fault("housing", "must be an object with a status")
    ignored += _unknown_keys(housing, _HOUSING_KEYS, "housing.")
    status = housing.get("status")
    if status not in HOUSING_STATUSES:
        raise _Fault("housing.status", f"unknown housing status; expected one of {', '.join(HOUSING_STATUSES)}")
    rent = None if housing.get("rent") is None else _amount(housing.get("rent"), "housing.rent")
    colocation = _bool(housing.get("colocation"), "housing.colocation")
    chambre = _bool(housing.get("chambre"), "housing.chambre")
    for name, flag in (("colocation", colocation), ("chambre", chambre)):
        if flag and status not in SHARED_RENTAL_STATUSES:
            raise _Fault(f"housing.{name}",
                         f"only a tenant ({', '.join(SHARED_RENTAL_STATUSES)}) rents a share or a room")
    loan_date = _loan_date(housing.get("loan_date"), status)
    couple = sit.get("couple")
    if couple is not None and couple not in COUPLES:
        raise _Fault("couple", f"must be one of {', '.join(COUPLES)}")
    recent_isolation = _bool(sit.get("recent_isolation"), "recent_isolation")
    in_month = _bool(sit.get("benefits_paid_in_month"), "benefits_paid_in_month")
    persons = sit.get("persons")
    if not isinstance(persons, list) or not persons:
        raise _Fault("persons", "must be a non-empty list")
    units: dict[str, list[int]] = {}
    parsed: list[dict[str, Any]] = []
    for k, p in enumerate(persons):
        where = f"persons[{k}]"
        if not isinstance(p, Mapping):
            raise _Fault(where, "must be an object")
        # an annotation (``_NOTES``) is never read; any other key is refused, never ignored: on a person it may be an
        # amount (« income ») the format spells otherwise
        unknown = sorted(k for k in map(str, p) if k not in _PERSON_KEYS and not k.startswith(_NOTES))
        if unknown:
            raise _Fault(f"{where}.{unknown[0]}", _refused("unknown field", unknown[0], _PERSON_KEYS))
        role = p.get("role")
        if role not in ("parent", "child"):
            raise _Fault(f"{where}.role", "must be parent or child")
        age = p.get("age")
        if isinstance(age, float) and age.is_integer():  # 35.0: whole years written as a float by the author's tool
            age = int(age)
        if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 130:
            raise _Fault(f"{where}.age", "must be a whole number of years between 0 and 130")
        unit = p.get("unit", "main")
        if not isinstance(unit, str) or not unit:
            raise _Fault(f"{where}.unit", "must be a non-empty string")
        monthly = p.get("monthly")
        monthly = {} if monthly is None else monthly  # ``false``, ``0`` or ``[]`` are no object: refused, never empty
        if not isinstance(monthly, Mapping):
            raise _Fault(f"{where}.monthly", "must be an object")
        amounts: dict[str, float] = {}
        for key, value in monthly.items():
            if key not in MONTHLY_FIELDS:
                raise _Fault(f"{where}.monthly.{key}", _refused("unknown monthly resource", str(key), MONTHLY_FIELDS))
            amounts[MONTHLY_FIELDS[key]] = _amount(value, f"{where}.monthly.{key}")
        if "pension_gross" not in monthly or monthly.get("pension_gross") is None:
            amounts["pension_gross"] = amounts.get("pension_net", 0.0) / PENSION_NET_TO_GROSS
        rate = p.get("disability_rate", 0.0)
        rate = 0.0 if rate is None else rate
        if not _is_amount(rate) or not 0 <= rate <= 1:
            raise _Fault(f"{where}.disability_rate", "must be a number between 0 and 1")
        nationality = p.get("nationality", "FR")
        nationality = "FR" if nationality is None else nationality
        if not isinstance(nationality, str) or not re.fullmatch(r"[A-Z]{2}", nationality):
            raise _Fault(f"{where}.nationality", "must be a two-letter ISO country code")
        permit = p.get("residence_permit_years")
        if permit is not None and (not _is_amount(permit) or permit < 0):
            raise _Fault(f"{where}.residence_permit_years", "must be a non-negative number of years")
        parsed.append({
            "role": role, "age": age, "unit": unit, "amounts": amounts,
            **{b: _bool(p.get(b), f"{where}.{b}") for b in _BOOL_FIELDS},
            "disability_rate": float(rate),
            "nationality_group": "FR" if nationality == "FR" else ("EEA_CH" if nationality in EEA_CH else "OTHER"),
            "residence_permit_years": float(permit or 0.0),
        })
        units.setdefault(unit, []).append(k)
    if sum(v for q in parsed for k, v in q["amounts"].items() if k != "pension_gross") >= MAX_AMOUNT:
        raise _Fault("persons", _TOO_MUCH)
    for unit, members in units.items():
        n_parents = sum(parsed[k]["role"] == "parent" for k in members)
        if n_parents == 0:
            raise _Fault(f"persons (unit {unit})", "a unit has no parent")
        if n_parents > 2:
            raise _Fault(f"persons (unit {unit})", "a unit has more than two parents")
    paid = sit.get("benefits_paid")
    paid = {} if paid is None else paid
    if not isinstance(paid, Mapping):
        raise _Fault("benefits_paid", "must be an object keyed by unit")
    paid_norm: dict[str, dict[str, float]] = {}
    for unit, values in paid.items():
        if unit not in units:
            raise _Fault(f"benefits_paid.{unit}", "names a unit that has no person")
        if not isinstance(values, Mapping):
            raise _Fault(f"benefits_paid.{unit}", "must be an object")
        for key in values:
            if key not in BENEFITS_PAID_FIELDS:
                raise _Fault(f"benefits_paid.{unit}.{key}", _refused("unknown benefit", str(key), BENEFITS_PAID_FIELDS))
        paid_norm[unit] = {b: _amount(values.get(b), f"benefits_paid.{unit}.{b}") for b in BENEFITS_PAID_FIELDS}
        paid_norm[unit]["__housing_known"] = values.get("aide_logement") is not None  # type: ignore[assignment]
        # the family benefits are known together (one CAF statement): any of them stated, the others absent were
        # not paid (as the OpenFisca export states them); a stated ASF or PAJE is never dropped for a missing af
        paid_norm[unit]["__af_known"] = any(values.get(b) is not None  # type: ignore[assignment]
                                            for b in FAMILY_PAID_FIELDS)
    return {"month": month, "depcom": depcom, "dom": depcom[:3] in OVERSEAS_DEPARTMENTS, "status": status,
            "rent": rent, "colocation": colocation, "chambre": chambre, "loan_date": loan_date,
            "couple": couple or "",
            "recent_isolation": recent_isolation, "persons": parsed,
            "units": units, "paid": paid_norm, "in_month": in_month, "ignored": ignored}


def load_situations(situations: Sequence[Any] | Iterable[Any]) -> SituationBatch:
    """Validate situations and build the engine input frames (see the module docstring).

    The situations are checked against the typed schema all at once (msgspec) and the frames built in bulk;
    when any situation breaks a rule, every situation is validated apart instead, so each error names its
    situation and field and the others are loaded."""
    sits = list(situations)
    # the schema reads any sequence as a list, the format wants a list of persons: other shapes go apart
    if all(isinstance(s, dict) and type(s.get("persons")) is list for s in sits):
        try:
            with _gc_paused():
                return _bulk(msgspec.convert(sits, list[_Situation]))
        except (msgspec.ValidationError, _Fallback):
            pass
    with _gc_paused():
        return _load_each(sits)


def _load_each(situations: Sequence[Any] | Iterable[Any]) -> SituationBatch:
    """Validate each situation apart (each fault an error naming the situation and the field) and build the
    frames of the valid ones."""
    errors: list[SituationError] = []
    seen: set[str] = set()
    ids: list[str] = []
    valid: list[tuple[int, str, dict[str, Any]]] = []
    for pos, sit in enumerate(situations):
        sid = sit.get("id") if isinstance(sit, Mapping) else None
        label = sid if isinstance(sid, str) and sid else f"#{pos}"
        ids.append(label)
        try:
            if not isinstance(sid, str) or not sid:
                raise _Fault("id", "must be a non-empty string")
            if sid in seen:
                raise _Fault("id", "appears twice in the file")
            s = _parse(sit)
        except _Fault as fault:
            errors.append(SituationError(fault.message, situation_id=label, field=fault.fld))
            continue
        seen.add(sid)
        valid.append((pos, sid, s))
    return _assemble(valid, ids, errors)


def _assemble(valid: list[tuple[int, str, dict[str, Any]]], ids: list[str],
              errors: list[SituationError]) -> SituationBatch:
    """Rows of the engine input frames from validated situations (position, id, normalised content)."""
    ind_rows: dict[str, list[Any]] = {k: [] for k in (
        "person_id", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_fiscal_role", "menage_id",
        "menage_role", "age", "date_naissance", "student", "pregnant", "disability_rate", "rsdae", "unfit_for_work",
        "nationality_group", "residence_permit_years", "residence_condition_exempt", "ofpra_protection")}
    amounts_rows: dict[str, list[Any]] = {"person_id": [], **{c: [] for c in MONTHLY_FIELDS.values()}}
    fam_rows: dict[str, list[Any]] = {k: [] for k in (
        "famille_id", "couple_kind", "recent_isolation", "hosted_free_of_charge", "prestations_versees_connues",
        "aide_logement_versee_connue", "aide_logement_du_mois_connue",
        *BENEFITS_PAID_FIELDS)}
    men_rows: dict[str, list[Any]] = {k: [] for k in ("menage_id", "depcom", "residence_dom", "housing_status",
                                                      "rent", "colocation", "chambre", "loan_date")}
    idx_rows: dict[str, list[Any]] = {k: [] for k in ("famille_id", "situation", "id", "unit", "month")}
    ff_ids: list[int] = []
    pid = fid = ffid = 0
    for pos, sid, s in valid:
        menage_id = pos
        men_rows["menage_id"].append(menage_id)
        men_rows["depcom"].append(s["depcom"])
        men_rows["residence_dom"].append(s["dom"])
        men_rows["housing_status"].append(s["status"])
        men_rows["rent"].append(s["rent"])
        men_rows["colocation"].append(s["colocation"])
        men_rows["chambre"].append(s["chambre"])
        men_rows["loan_date"].append(s["loan_date"])
        persons = s["persons"]
        for u_rank, (unit, members) in enumerate(s["units"].items()):
            parents = [k for k in members if persons[k]["role"] == "parent"]
            children = [k for k in members if persons[k]["role"] == "child"]
            two = len(parents) == 2
            fam_rows["famille_id"].append(fid)
            fam_rows["couple_kind"].append(s["couple"] if two else "")
            fam_rows["recent_isolation"].append(s["recent_isolation"] and not two)
            fam_rows["hosted_free_of_charge"].append(u_rank > 0)
            paid = s["paid"].get(unit, {})
            # each payment is known when the situation states it for this unit (SITUATION_FORMAT.md): the
            # allocations familiales paid, else ours computed; the housing aid paid, else ours computed
            fam_rows["prestations_versees_connues"].append(bool(paid.get("__af_known", False)))
            for b in BENEFITS_PAID_FIELDS:
                fam_rows[b].append(paid.get(b, 0.0))
            fam_rows["aide_logement_versee_connue"].append(bool(paid.get("__housing_known", False)))
            fam_rows["aide_logement_du_mois_connue"].append(s["in_month"])
            for col, v in zip(("famille_id", "situation", "id", "unit", "month"),
                              (fid, pos, sid, unit, s["month"]), strict=True):
                idx_rows[col].append(v)
            one_return = two and s["couple"] in ("married", "pacs")
            first_ff = ffid
            ff_of = {parents[0]: first_ff}
            ffid += 1
            if two:
                if one_return:
                    ff_of[parents[1]] = first_ff
                else:
                    ff_of[parents[1]] = ffid
                    ffid += 1
            ff_ids.extend(range(first_ff, ffid))
            ordered = parents + children
            for rank, k in enumerate(ordered):
                p = persons[k]
                is_parent = p["role"] == "parent"
                ind_rows["person_id"].append(pid)
                ind_rows["famille_id"].append(fid)
                ind_rows["famille_role"].append(
                    ("demandeur" if rank == 0 else "conjoint") if is_parent else "enfant")
                ind_rows["foyer_fiscal_id"].append(ff_of.get(k, first_ff))
                ind_rows["foyer_fiscal_role"].append("declarant" if is_parent else "personne_a_charge")
                ind_rows["menage_id"].append(menage_id)
                ind_rows["menage_role"].append(
                    "autre" if u_rank > 0 else
                    ("personne_de_reference" if rank == 0 else "conjoint") if is_parent else "enfant")
                ind_rows["age"].append(p["age"])
                ind_rows["date_naissance"].append(_birth_date(s["month"], p["age"]))
                for col in ("student", "pregnant", "disability_rate", "rsdae", "unfit_for_work",
                            "nationality_group", "residence_permit_years", "residence_condition_exempt",
                            "ofpra_protection"):
                    ind_rows[col].append(p[col])
                if any(v != 0 for v in p["amounts"].values()):
                    amounts_rows["person_id"].append(pid)
                    for col in MONTHLY_FIELDS.values():
                        amounts_rows[col].append(p["amounts"].get(col, 0.0))
                pid += 1
            fid += 1
    batch = _frames(pl.DataFrame(ind_rows, schema=_IND_SCHEMA), pl.DataFrame(amounts_rows, schema=_AMOUNTS_SCHEMA),
                   pl.DataFrame(fam_rows, schema=_FAM_SCHEMA), pl.DataFrame(men_rows, schema=_MEN_SCHEMA),
                   pl.DataFrame(idx_rows, schema=_IDX_SCHEMA), ff_ids, ids, errors)
    batch.keys_ignored = sorted({k for _, _, sit in valid for k in sit.get("ignored", ())})
    return batch


_IND_SCHEMA: dict[str, Any] = {
    "person_id": pl.Int64, "famille_id": pl.Int64, "famille_role": pl.Utf8, "foyer_fiscal_id": pl.Int64,
    "foyer_fiscal_role": pl.Utf8, "menage_id": pl.Int64, "menage_role": pl.Utf8, "age": pl.Int64,
    "date_naissance": pl.Date,
    "student": pl.Boolean, "pregnant": pl.Boolean, "disability_rate": pl.Float64, "rsdae": pl.Boolean,
    "unfit_for_work": pl.Boolean, "nationality_group": pl.Utf8, "residence_permit_years": pl.Float64,
    "residence_condition_exempt": pl.Boolean, "ofpra_protection": pl.Boolean}
_IDX_SCHEMA: dict[str, Any] = {
    "famille_id": pl.Int64, "situation": pl.Int64, "id": pl.Utf8, "unit": pl.Utf8, "month": pl.Date}
_AMOUNTS_SCHEMA: dict[str, Any] = {"person_id": pl.Int64, **{c: pl.Float64 for c in MONTHLY_FIELDS.values()}}
_FAM_SCHEMA: dict[str, Any] = {
    "famille_id": pl.Int64, "couple_kind": pl.Utf8, "recent_isolation": pl.Boolean,
    "hosted_free_of_charge": pl.Boolean, "prestations_versees_connues": pl.Boolean,
    "aide_logement_versee_connue": pl.Boolean, "aide_logement_du_mois_connue": pl.Boolean,
    **{b: pl.Float64 for b in BENEFITS_PAID_FIELDS}}
_MEN_SCHEMA: dict[str, Any] = {"menage_id": pl.Int64, "depcom": pl.Utf8, "residence_dom": pl.Boolean,
                               "housing_status": pl.Utf8, "rent": pl.Float64, "colocation": pl.Boolean,
                               "chambre": pl.Boolean, "loan_date": pl.Date}


def _frames(individu: pl.DataFrame, amounts: pl.DataFrame, fam_all: pl.DataFrame, menage: pl.DataFrame,
            unit_index: pl.DataFrame, ff_ids: list[int] | range, ids: list[str],
            errors: list[SituationError]) -> SituationBatch:
    """The engine input frames from the rows of the validated situations (individus in person_id order, their
    stable amounts, familles with the payments stated, ménages, the famille index); monthly rows are repeated
    over the reference months with one cross join."""
    evaluated = unit_index.get_column("month").unique().sort().to_list()
    # each evaluated month with its reference months, oldest first (a join on this small table replaces a
    # cross join with the offsets and a date offset per row)
    reference = pl.DataFrame({"month": [m for m in evaluated for _ in range(-MONTHS_BACK, 1)],
                              "__reference": [add_months(m, k) for m in evaluated for k in range(-MONTHS_BACK, 1)]},
                             schema={"month": pl.Date, "__reference": pl.Date})

    def monthly(base: pl.DataFrame, key: str, evaluated: str | None = None) -> pl.DataFrame:
        month_of = individu.select("person_id", "famille_id") if key == "person_id" else None
        fam_month = unit_index.select("famille_id", "month")
        if month_of is not None:
            base = base.join(month_of, on="person_id").join(fam_month, on="famille_id").drop("famille_id")
        else:
            base = base.join(fam_month, on="famille_id")
        rows = base.join(reference, on="month", how="inner", maintain_order="left_right")
        rows = rows.rename({"month": evaluated}) if evaluated else rows.drop("month")
        return rows.rename({"__reference": "month"}).select(
            key, "month", *[c for c in base.columns if c not in (key, "month")], *([evaluated] if evaluated else []))

    # SITUATION_FORMAT.md has no key for an AAH, an ASPA, an ASI, a complément familial or an RSA paid: a
    # situation's AAH, ASPA, ASI and CF paid and RSA received are unknown, and the rules read those they compute
    # (rules.benefits.aah, aspa_percue, asi_percue_individuelle, cf_retenu, al_rsa_mois_precedent); a situation's
    # RSA counts the benefits it states paid, not those due where larger (``rsa_subsidiarite``: detection's reading,
    # CASF art. L262-10), as OpenFisca reads what is stated
    famille = fam_all.select("famille_id", "couple_kind", "recent_isolation", "hosted_free_of_charge",
                             "prestations_versees_connues", "aide_logement_versee_connue",
                             "aide_logement_du_mois_connue", pl.lit(False).alias("aah_versee_connue"),
                             pl.lit(False).alias("aspa_versee_connue"), pl.lit(False).alias("asi_versee_connue"),
                             pl.lit(False).alias("cf_versee_connue"),
                             pl.lit(False).alias("rsa_percu_connu"),
                             pl.lit(False).alias("rsa_subsidiarite"))
    paid = fam_all.select("famille_id", *BENEFITS_PAID_FIELDS).filter(
        pl.any_horizontal(pl.col(b) != 0 for b in BENEFITS_PAID_FIELDS)).rename(PAID_COLUMNS).with_columns(
        pl.lit(0.0).alias("aah_versee"), pl.lit(0.0).alias("aspa_versee"), pl.lit(0.0).alias("asi_versee"),
        pl.lit(0.0).alias("cf_versee"),
        pl.lit(False).alias("rsa_percu"))
    absent = menage.filter(pl.col("housing_status").is_in(RENT_PAYING_STATUSES) & pl.col("rent").is_null())
    rent_absent = [ids[k] for k in absent.get_column("menage_id").to_list()]  # a ménage is its situation's position
    menage = menage.with_columns(zone_apl_of(menage["depcom"]).cast(pl.Int64), pl.col("rent").fill_null(0.0))
    frames = {
        "individu": individu,
        # SITUATION_FORMAT.md has no key for daily allowances nor other incomes: a situation states none of them
        "individu_monthly": _with_tax_year_income(monthly(amounts, "person_id", "__evaluated")).with_columns(
            *[pl.lit(0.0).alias(c) for c in _UNSTATED_MONTHLY]),
        "famille": famille,
        "famille_monthly": monthly(paid, "famille_id"),
        "menage": menage,
        "foyer_fiscal": pl.DataFrame({"foyer_fiscal_id": ff_ids}, schema={"foyer_fiscal_id": pl.Int64}),
    }
    # the age limit of every benefit's dependants (the RSA's, 25 since 1977; the core's own for a listed child)
    limit = default_parameters().bind("minima_sociaux.rsa.age_pac", MAX_MONTH).value
    grown = (individu.filter((pl.col("famille_role") == "enfant") & (pl.col("age") >= limit))
             .join(unit_index.select("famille_id", "situation", "id"), on="famille_id")
             .unique("situation").sort("situation").get_column("id").to_list())
    return SituationBatch(frames=frames, unit_index=unit_index, ids=ids, errors=errors, rent_absent=rent_absent,
                          grown_children=grown)


TAXABLE = {"salary_net": NET_TO_TAXABLE["salary_net"], "unemployment": NET_TO_TAXABLE["unemployment_benefit"],
           "pension_net": NET_TO_TAXABLE["pension_net"]}
"""Net-to-taxable ratios (schemas.codes.NET_TO_TAXABLE) under the situation's input names."""


def _with_tax_year_income(monthly: pl.DataFrame) -> pl.DataFrame:
    """Annual taxable income of year N-2 of each month (what DGFiP would give): the situation's stable amounts
    apply from January of year N-2 of the evaluated month (``__evaluated``, dropped), so a month of year N-1
    (whose N-2 is N-3) has no known income of reference and gets zero."""
    known = pl.col("month").dt.year() >= pl.col("__evaluated").dt.year()
    # a month's taxable amount is a payslip's, in cents, rounded as the rules round (their estimate when N-2 is
    # not given: rules.benefits.common.salaire_imposable_estime)
    cents = round_columns(monthly.select(*(pl.col(c) * r for c, r in TAXABLE.items())), 2)
    activite = 12 * (cents["salary_net"] + cents["unemployment"])
    pensions = 12 * (cents["pension_net"] + pl.col("invalidity_pension") + pl.col("alimony_received"))
    return (monthly.with_columns(pl.when(known).then(activite).otherwise(0.0).alias("revenu_activite_imposable_n2"),
                                 pl.when(known).then(pensions).otherwise(0.0).alias("pensions_imposables_n2"),
                                 # the format carries no non-salaried income: none (its amounts default to 0)
                                 pl.lit(0.0).alias("revenus_non_salaries_n2"),
                                 pl.lit(0.0).alias("revenus_non_salaries_connus"),
                                 pl.lit(True).alias("revenus_n2_renseignes"))
            .drop("__evaluated"))


# -- the whole file at once ---------------------------------------------------------------------------------
# A typed schema that the JSON decoder checks over the whole file in one pass (msgspec, in C): types, ranges,
# allowed keys and codes. Whatever it accepts is then checked for what a schema cannot say (months and
# communes covered, parents per unit, duplicated ids...). The schema never accepts what the per-situation
# validation refuses; when the file breaks any rule the per-situation validation runs instead, so every
# error still names the situation and the field, and the other situations are still loaded.

_Amount = Annotated[float, msgspec.Meta(ge=0, lt=MAX_AMOUNT)]


class _Person(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["parent", "child"]
    age: Annotated[int, msgspec.Meta(ge=0, le=130)]
    unit: Annotated[str, msgspec.Meta(min_length=1)] = "main"
    monthly: dict[Literal[tuple(MONTHLY_FIELDS)], _Amount | None] | None = None  # type: ignore[valid-type]
    student: bool | None = None
    disability_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    rsdae: bool | None = None
    unfit_for_work: bool | None = None
    nationality: str | None = None
    residence_permit_years: _Amount | None = None
    pregnant: bool | None = None
    residence_condition_exempt: bool | None = None
    ofpra_protection: bool | None = None
    comment: Any = None  # annotations (``_NOTES``; one starting with ``_`` sends the file to ``_parse``)
    note: Any = None
    description: Any = None
    label: Any = None


_PERSON_KEYS = frozenset(_Person.__struct_fields__)
"""A person's fields, the typed schema's: the per-situation path refuses any other key as the bulk path does."""


class _Housing(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal[HOUSING_STATUSES]  # type: ignore[valid-type]
    rent: _Amount | None = None
    colocation: bool | None = None
    chambre: bool | None = None
    loan_date: str | None = None
    comment: Any = None  # annotations (``_NOTES``; one starting with ``_`` sends the file to ``_parse``)
    note: Any = None
    description: Any = None
    label: Any = None


class _Situation(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1)]
    month: str
    depcom: str
    housing: _Housing
    persons: Annotated[list[_Person], msgspec.Meta(min_length=1)]
    couple: Literal[COUPLES] | None = None  # type: ignore[valid-type]
    recent_isolation: bool | None = None
    benefits_paid_in_month: bool | None = None
    benefits_paid: dict[str, dict[Literal[BENEFITS_PAID_FIELDS], _Amount | None]] | None = None  # type: ignore[valid-type]
    comment: Any = None
    note: Any = None
    description: Any = None
    label: Any = None


_SITUATION_KEYS = frozenset(_Situation.__struct_fields__)
_HOUSING_KEYS = frozenset(_Housing.__struct_fields__)


class _Case(msgspec.Struct):
    situation: _Situation


class _Cases(msgspec.Struct):
    cases: list[_Case]


_DECODER = msgspec.json.Decoder(list[_Situation] | _Cases)
_EMPTY: dict[str, Any] = {}


class _Fallback(Exception):
    """The file breaks a rule: validate it situation by situation (exact messages)."""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a file's objects are created: decoding 50,000 situations
    allocates about a million containers, none of them in a cycle, and the collections those allocations set
    off cost twice the decoding itself (0.9 against 0.3 s measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bulk(sits: list[_Situation]) -> SituationBatch:
    """The engine input frames of situations the schema accepted, built column by column in Polars (no work
    per situation beyond reading its fields into columns), after the checks a schema cannot say (months and
    communes covered, parents per unit, a room or a share rented by a tenant only, payments of a unit that
    exists, ids appearing once). Raises :class:`_Fallback` when any check fails. The frames are those of
    :func:`_assemble` (same ids, same row order: ``tests/simulation/test_situations.py`` compares them). No
    situation at all goes apart too (its checks read sums over no row: an empty file failed with a TypeError)."""
    n = len(sits)
    if not n:
        raise _Fallback
    housing = [s.housing for s in sits]
    ids = [s.id for s in sits]
    sit = pl.DataFrame({
        "id": ids, "month_text": [s.month for s in sits], "depcom": [s.depcom for s in sits],
        "housing_status": [h.status for h in housing], "rent": [h.rent for h in housing],
        "colocation": [h.colocation for h in housing], "chambre": [h.chambre for h in housing],
        "loan_text": [h.loan_date for h in housing], "couple": [s.couple for s in sits],
        "recent_isolation": [s.recent_isolation for s in sits],
        "in_month": [s.benefits_paid_in_month for s in sits], "n_persons": [len(s.persons) for s in sits],
    }, schema={"id": pl.String, "month_text": pl.String, "depcom": pl.String, "housing_status": pl.String,
               "rent": pl.Float64, "colocation": pl.Boolean, "chambre": pl.Boolean, "loan_text": pl.String,
               "couple": pl.String,
               "recent_isolation": pl.Boolean, "in_month": pl.Boolean, "n_persons": pl.Int64})
    sit = sit.with_columns(pl.int_range(n, dtype=pl.Int64).alias("situation"),
                           (pl.col("month_text") + "-01").str.to_date("%Y-%m-%d", strict=False).alias("month"),
                           pl.col("loan_text").str.to_date("%Y-%m-%d", strict=False).alias("loan_date"),
                           pl.col("colocation", "chambre", "recent_isolation", "in_month").fill_null(False))
    depcom = pl.col("depcom")
    broken = sit.select(
        pl.col("id").is_duplicated().any(),
        (~pl.col("month_text").str.contains(r"^[0-9]{4}-(0[1-9]|1[0-2])$")).any(),
        (~pl.col("month").is_between(MIN_MONTH, MAX_MONTH)).any(),
        (~depcom.str.contains(r"^([0-9]{5}|2[AB][0-9]{3})$") | unmodelled_territory(depcom)
         | ~depcom.is_in(sorted(zonage_communes()))).any(),
        ((pl.col("colocation") | pl.col("chambre")) & ~pl.col("housing_status").is_in(SHARED_RENTAL_STATUSES)).any(),
        # a loan date: an accédant's only, written YYYY-MM-DD, a real day from 1900 to 2100 (``_loan_date``)
        (pl.col("loan_text").is_not_null() & ((pl.col("housing_status") != "owner_with_loan")
                                              | ~pl.col("loan_text").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
                                              | ~pl.col("loan_date").is_between(dt.date(1900, 1, 1),
                                                                                dt.date(2100, 12, 31))
                                              .fill_null(False))).any(),
    ).row(0)
    if any(broken):
        raise _Fallback

    persons = [p for s in sits for p in s.persons]
    bools = _BOOL_FIELDS
    per = pl.DataFrame({
        "role": [p.role for p in persons], "age": [p.age for p in persons], "unit": [p.unit for p in persons],
        **{b: [getattr(p, b) for p in persons] for b in bools},
        "disability_rate": [p.disability_rate for p in persons],
        "nationality": [p.nationality for p in persons],
        "residence_permit_years": [p.residence_permit_years for p in persons],
    }, schema={"role": pl.String, "age": pl.Int64, "unit": pl.String, **{b: pl.Boolean for b in bools},
               "disability_rate": pl.Float64, "nationality": pl.String, "residence_permit_years": pl.Float64})
    # the monthly amounts (dicts of the allowed keys) read by Polars in one call
    monthly = pl.from_dicts([p.monthly or _EMPTY for p in persons],
                            schema=dict.fromkeys(MONTHLY_FIELDS, pl.Float64)).rename(MONTHLY_FIELDS)
    amount_cols = [c for c in MONTHLY_FIELDS.values() if c != "pension_gross"]
    # the gross pension when absent: net / 0.926, divided by a column (Polars multiplies by the reciprocal of a
    # scalar divisor, one ulp off the quotient Python computes)
    ratio = pl.repeat(PENSION_NET_TO_GROSS, len(persons), dtype=pl.Float64, eager=True)
    counts = sit.get_column("n_persons").to_numpy()
    starts = np.cumsum(counts) - counts  # each situation's first row among the persons
    situation = np.repeat(np.arange(n, dtype=np.int64), counts)
    per = pl.concat([per, monthly], how="horizontal").with_columns(
        pl.Series("situation", situation, dtype=pl.Int64),
        pl.Series("k", np.arange(len(persons), dtype=np.int64) - np.repeat(starts, counts), dtype=pl.Int64),
        pl.col(amount_cols).fill_null(0.0),
        pl.col("pension_gross").fill_null(pl.col("pension_net").fill_null(0.0) / ratio),
        pl.col(bools).fill_null(False),
        pl.col("disability_rate", "residence_permit_years").fill_null(0.0),
        pl.col("nationality").fill_null("FR"),
    )
    if not per.get_column("nationality").str.contains(r"^[A-Z]{2}$").all():
        raise _Fallback
    if per.select(pl.sum_horizontal(amount_cols).sum().over("situation").max()).item() >= MAX_AMOUNT:
        raise _Fallback  # ``_TOO_MUCH``
    parent = pl.col("role") == "parent"
    # units in the order of their first member; a famille per unit, numbered in that order
    units = (per.group_by("situation", "unit").agg(pl.col("k").min().alias("first"),
                                                   parent.sum().alias("n_parents"))
             .sort("situation", "first"))
    if not units.get_column("n_parents").is_between(1, 2).all():
        raise _Fallback
    two = pl.col("n_parents") == 2
    separate = two & ~pl.col("couple").is_in(["married", "pacs"]).fill_null(False)  # two tax returns
    units = (units.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("famille_id"))
             .with_columns(_rank_in("situation", "famille_id").alias("u_rank"))
             .join(sit.select("situation", "id", "month", "couple", "recent_isolation", "in_month"),
                   on="situation", how="left", maintain_order="left")
             .with_columns((1 + separate.cast(pl.Int64)).alias("n_ff"), separate.alias("separate"))
             .with_columns((pl.col("n_ff").cum_sum() - pl.col("n_ff")).alias("first_ff")))
    paid = _paid(sits, units)

    # individus: in each famille its parents, then its children, each in the order of the file
    ind = (per.join(units.select("situation", "unit", "famille_id", "u_rank", "separate", "first_ff", "month"),
                    on=["situation", "unit"], how="left")
           .sort("famille_id", ~parent, "k")
           .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("person_id"))
           .with_columns(_rank_in("famille_id", "person_id").alias("rank")))
    first = pl.col("rank") == 0
    individu = ind.select(
        "person_id", "famille_id",
        pl.when(~parent).then(pl.lit("enfant")).when(first).then(pl.lit("demandeur"))
        .otherwise(pl.lit("conjoint")).alias("famille_role"),
        (pl.col("first_ff") + (parent & ~first & pl.col("separate")).cast(pl.Int64)).alias("foyer_fiscal_id"),
        pl.when(parent).then(pl.lit("declarant")).otherwise(pl.lit("personne_a_charge")).alias("foyer_fiscal_role"),
        pl.col("situation").alias("menage_id"),
        pl.when(pl.col("u_rank") > 0).then(pl.lit("autre")).when(~parent).then(pl.lit("enfant"))
        .when(first).then(pl.lit("personne_de_reference")).otherwise(pl.lit("conjoint")).alias("menage_role"),
        "age",
        _add_months(pl.col("month"), -12 * pl.col("age") - 6).alias("date_naissance"),
        "student", "pregnant", "disability_rate", "rsdae", "unfit_for_work",
        pl.when(pl.col("nationality") == "FR").then(pl.lit("FR"))
        .when(pl.col("nationality").is_in(sorted(EEA_CH))).then(pl.lit("EEA_CH")).otherwise(pl.lit("OTHER"))
        .alias("nationality_group"),
        "residence_permit_years", "residence_condition_exempt", "ofpra_protection",
    ).cast(_IND_SCHEMA)  # type: ignore[arg-type]
    amounts = ind.filter(pl.any_horizontal(pl.col(c) != 0 for c in MONTHLY_FIELDS.values())).select(
        *_AMOUNTS_SCHEMA)
    fam_all = units.join(paid, on="famille_id", how="left", maintain_order="left").select(
        "famille_id",
        pl.when(two).then(pl.col("couple").fill_null("")).otherwise(pl.lit("")).alias("couple_kind"),
        (pl.col("recent_isolation") & ~two).alias("recent_isolation"),
        (pl.col("u_rank") > 0).alias("hosted_free_of_charge"),
        pl.col("__af_known").fill_null(False).alias("prestations_versees_connues"),
        pl.col("__housing_known").fill_null(False).alias("aide_logement_versee_connue"),
        pl.col("in_month").alias("aide_logement_du_mois_connue"),
        *(pl.col(b).fill_null(0.0) for b in BENEFITS_PAID_FIELDS),
    ).cast(_FAM_SCHEMA)  # type: ignore[arg-type]
    menage = sit.select(pl.col("situation").alias("menage_id"), "depcom",
                        overseas_department(depcom).alias("residence_dom"),
                        "housing_status", "rent", "colocation", "chambre",
                        pl.col("loan_date").fill_null(NO_LOAN_DATE))
    unit_index = units.select("famille_id", "situation", "id", "unit", "month").cast(
        _IDX_SCHEMA)  # type: ignore[arg-type]
    n_ff = units.get_column("n_ff").sum() if units.height else 0
    # the frames keep the sortedness flags their building set (ids numbered in order): the engine's results do not
    # depend on them (sums over members in fixed point; they once did, see docs/rules.md)
    return _frames(individu, amounts, fam_all, menage, unit_index, range(n_ff), ids, [])


def _rank_in(group: str, order: str) -> pl.Expr:
    """The rank of each row in its group, on a frame sorted by ``group`` then numbered by ``order`` (0, 1...):
    ``order`` minus its value at the group's first row (no window by group)."""
    first = pl.col(group) != pl.col(group).shift(1)
    return pl.col(order) - pl.when(first.fill_null(True)).then(pl.col(order)).forward_fill()


def _add_months(month: pl.Expr, k: pl.Expr) -> pl.Expr:
    """The first day of the month ``k`` months after ``month`` (a first of the month), in integer arithmetic
    (``dt.offset_by`` would parse a duration text per row)."""
    index = month.dt.year().cast(pl.Int64) * 12 + month.dt.month().cast(pl.Int64) - 1 + k
    return pl.date(index // 12, index % 12 + 1, 1)


def _paid(sits: list[_Situation], units: pl.DataFrame) -> pl.DataFrame:
    """The payments stated per famille (``famille_id``, each benefit, whether the allocations familiales and
    the housing aid were stated); raises :class:`_Fallback` when a payment names a unit that has no person."""
    rows = [(pos, unit, v) for pos, s in enumerate(sits) if s.benefits_paid for unit, v in s.benefits_paid.items()]
    stated = pl.DataFrame({
        "situation": [r[0] for r in rows], "unit": [r[1] for r in rows],
        **{b: [r[2].get(b) for r in rows] for b in BENEFITS_PAID_FIELDS},
    }, schema={"situation": pl.Int64, "unit": pl.String, **{b: pl.Float64 for b in BENEFITS_PAID_FIELDS}})
    stated = stated.with_columns(pl.any_horizontal(pl.col(b).is_not_null() for b in FAMILY_PAID_FIELDS)
                                 .alias("__af_known"),
                                 pl.col("aide_logement").is_not_null().alias("__housing_known"))
    out = stated.join(units.select("situation", "unit", "famille_id"), on=["situation", "unit"], how="left")
    if out.get_column("famille_id").null_count():
        raise _Fallback
    return out.drop("situation", "unit")


def _typed(decoded: list[_Situation] | _Cases) -> list[_Situation]:
    return [c.situation for c in decoded.cases] if isinstance(decoded, _Cases) else decoded


def load_situation_json(raw: bytes, name: str = "situations") -> SituationBatch:
    """Situations from the bytes of a JSON file (a list, or ``{"cases": [{"situation": ...}]}``): the whole
    file is decoded and checked against the typed schema in one pass (msgspec), the frames are built in bulk
    (Polars); a file breaking any rule is validated situation by situation instead (see
    :func:`load_situations`), so the errors are the same. ``name`` (the file name) is quoted when the text is
    not JSON. A UTF-8 byte-order mark (Notepad's, PowerShell's ``Out-File``) is read past: RFC 8259 §8.1 lets a
    parser ignore it, and the file is JSON."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        with _gc_paused():
            return _bulk(_typed(_DECODER.decode(raw)))
    except (msgspec.ValidationError, _Fallback):
        pass
    except msgspec.DecodeError:
        try:  # the standard parser names the line of the fault
            json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise SituationError(f"{name}: not valid JSON" + (f" (line {line})" if line else "")) from None
    with _gc_paused():
        return _load_each(read_situation_file(json.loads(raw.decode("utf-8"))))
