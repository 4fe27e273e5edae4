"""Readable French explanations of one unit's results.

Everything comes from columns the engine already computed: each labelled condition is an output column,
each parameter binding is recorded by the plan, and the prepared input columns hold the values the rules
saw (after defaults). Sources come from ``<column>__source`` columns of the caller's input frames.

Members are named by their role and rank (``enfant 2``), never by an identifier, so the text can be
stored or shown without leaking pseudonyms.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

import polars as pl

from nonrecours.engine.inputs import SOURCE_SUFFIX
from nonrecours.engine.plan import ID, ROLE_COL, Step, add_months
from nonrecours.errors import EngineError

if TYPE_CHECKING:
    from nonrecours.engine.evaluate import Result

__all__ = ["closure", "explain"]

ENTITY_FR = {"individu": "Individu", "famille": "Famille", "foyer_fiscal": "Foyer fiscal", "menage": "Ménage"}
ROLE_FR = {"demandeur": "demandeur", "conjoint": "conjoint", "enfant": "enfant", "declarant": "déclarant",
           "personne_a_charge": "personne à charge", "personne_de_reference": "personne de référence",
           "autre": "autre membre"}


def closure(result: Result, targets: list[str]) -> list[Step]:
    """Steps the targets depend on (themselves included), in plan order (cached on the result)."""
    cache_key = tuple(targets)
    if cache_key in result.cache:
        return result.cache[cache_key]
    steps = result.plan.steps
    seen: set[str] = set()
    stack = [t for t in targets if t in steps]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(steps[n].deps)
    out = [s for s in steps.values() if s.name in seen]
    result.cache[cache_key] = out
    return out


def fmt(value: Any) -> str:
    """A value in French notation (``1 234,56``, ``oui``/``non``, ISO dates)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@functools.lru_cache(maxsize=4096)
def _month_label(month: dt.date, offset: int) -> str:
    return f"{add_months(month, offset):%Y-%m}"


class _RawIndex:
    """The caller's own input rows for a few ids, fetched once per frame (one filter per frame, not one per
    input and month): tells whether a value was supplied and its source agency."""

    def __init__(self, result: Result, entity: str, id_col: str, ids: list[Any]) -> None:
        self.result, self.entity, self.id_col, self.ids = result, entity, id_col, ids
        self.cache: dict[bool, tuple[pl.DataFrame | None, dict[tuple[Any, ...], int]]] = {}

    def _frame(self, monthly: bool) -> tuple[pl.DataFrame | None, dict[tuple[Any, ...], int]]:
        if monthly not in self.cache:
            frame = self.result.inputs.frame(self.entity, monthly)
            if frame is None:
                self.cache[monthly] = (None, {})
            else:
                part = frame.filter(pl.col(self.id_col).is_in(pl.Series(self.ids).implode()))
                keys = [self.id_col, "month"] if monthly else [self.id_col]
                if monthly:
                    part = part.with_columns(pl.col("month").cast(pl.Date))
                index = {tuple(r): k for k, r in enumerate(part.select(keys).iter_rows())}
                self.cache[monthly] = (part, index)
        return self.cache[monthly]

    def get(self, var: str, monthly: bool, unit: Any, month: dt.date | None) -> tuple[bool, str | None] | None:
        part, index = self._frame(monthly)
        if part is None or var not in part.columns:
            return None
        k = index.get((unit, month) if monthly else (unit,))
        if k is None:
            return None
        src_col = f"{var}{SOURCE_SUFFIX}"
        src = part.get_column(src_col)[k] if src_col in part.columns else None
        return part.get_column(var)[k] is not None, (None if src is None else str(src))


def _other_unit(result: Result, entity: str, rec: dict[str, Any], other: str, ss: list[Step],
                month: dt.date) -> str:
    """Values of an input of another unit reached by a projection: the individu's own unit, or the unit
    of a famille's demandeur."""
    where = ENTITY_FR[other].lower()
    link = ID[other] if entity == "individu" else f"__{ID[other]}"
    other_id = rec.get(link)
    if other_id is None:
        return f"lu au niveau {where} (aucun {where} rattaché)"
    row = result.full[other].filter(pl.col(ID[other]) == other_id)
    if row.height != 1:
        return f"lu au niveau {where}"
    raw = _RawIndex(result, other, ID[other], [other_id])
    parts = [(f"{_month_label(month, s.offset)} : " if s.monthly else "")
             + _value_text(row.get_column(s.name)[0],
                           raw.get(s.variable or s.name, s.monthly, other_id,
                                   add_months(month, s.offset) if s.monthly else None))
             for s in ss]
    via = " (celui du demandeur)" if entity == "famille" else ""
    return f"niveau {where}{via} : " + " ; ".join(parts)


def _value_text(value: Any, raw: tuple[bool, str | None] | None) -> str:
    if raw is None or not raw[0]:
        return f"{fmt(value)} (non fourni : valeur par défaut)"
    return f"{fmt(value)} ({raw[1]})" if raw[1] else fmt(value)


def explain(result: Result, entity: str, unit_id: Any, *, targets: list[str] | None = None) -> str:
    """Text explaining ``targets`` (default: the evaluation's targets) for one unit of ``entity``."""
    if entity not in ID:
        raise EngineError(f"unknown entity {entity!r}")
    idc = ID[entity]
    full = result.full[entity]
    row = full.filter(pl.col(idc) == unit_id)
    if row.height != 1:
        raise EngineError(f"explain: no single {entity} with the given id in the results")
    rec = row.row(0, named=True)
    tgts = list(targets) if targets is not None else list(result.plan.targets)
    steps = closure(result, tgts)
    month = result.month
    reg_labels = {s.name: s for s in result.plan.steps.values()}
    out: list[str] = [f"{ENTITY_FR[entity]} — mois évalué {month:%Y-%m} (moteur {result.backend})"]

    # members of the unit (an individu is its own single member)
    ind = result.full["individu"]
    if entity == "individu":
        members = ind.filter(pl.col("person_id") == unit_id)
        member_names = {unit_id: "la personne"}
    else:
        members = ind.filter(pl.col(idc) == unit_id).sort("person_id")
        member_names = {}
        counts: dict[str, int] = {}
        roles = members.get_column(ROLE_COL[entity]).to_list()
        for pid, role in zip(members.get_column("person_id").to_list(), roles, strict=True):
            counts[role] = counts.get(role, 0) + 1
            n_role = roles.count(role)
            base = ROLE_FR.get(role, role or "sans rôle")
            member_names[pid] = base if n_role == 1 else f"{base} {counts[role]}"
        out.append("Composition : " + (", ".join(member_names.values()) or "aucun membre"))

    rules_here = [s for s in steps if s.public and s.entity == entity and s.rule is None]
    if rules_here:
        out.append("Résultats :")
        target_set = set(tgts)
        for s in sorted(rules_here, key=lambda s: (s.name not in target_set, s.name)):
            ref = f" [{s.ref}]" if s.ref else ""
            out.append(f"  - {s.label} ({s.name}) = {fmt(rec[s.name])}{ref}")

    conds_here = [s for s in steps if s.public and s.entity == entity and s.rule is not None]
    if conds_here:
        out.append("Conditions :")
        for s in conds_here:
            ref = f" [{s.ref}]" if s.ref else ""
            mark = "remplie" if rec[s.name] else "NON remplie"
            out.append(f"  - {mark} : {s.label}{ref} (règle {s.rule})")

    member_steps = [s for s in steps if s.public and s.entity == "individu"] if entity != "individu" else []
    if member_steps and members.height:
        out.append("Pour chaque membre :")
        mrows = members.select("person_id", *[s.name for s in member_steps]).iter_rows(named=True)
        for m in mrows:
            parts = []
            for s in member_steps:
                if s.rule is not None:
                    parts.append(f"{s.label} : {'oui' if m[s.name] else 'non'}")
                else:
                    parts.append(f"{s.label} = {fmt(m[s.name])}")
            out.append(f"  - {member_names[m['person_id']]} : " + " ; ".join(parts))

    rule_names = {s.variable for s in steps if s.kind == "formula" and s.variable and s.rule is None}
    keys = sorted({k for r in rule_names for k in result.plan.rule_bindings.get(r or "", set())})
    if keys:
        out.append("Paramètres utilisés :")
        for k in keys:
            b = result.plan.bindings[k]
            ref = f" ; {b.ref}" if b.ref else ""
            out.append(f"  - {b.name} = {fmt(float(b.value)) if b.unit == 'currency' else b.value} "
                       f"pour {b.month:%Y-%m} (en vigueur depuis le {b.start.isoformat()}{ref})")

    inputs = [s for s in steps if s.kind == "input" and s.variable not in ROLE_COL.values()]
    raw_members = _RawIndex(result, "individu", "person_id", members.get_column("person_id").to_list())
    raw_unit = _RawIndex(result, entity, idc, [unit_id])
    if inputs:
        out.append("Données utilisées :")
        by_var: dict[str, list[Step]] = {}
        for s in inputs:
            by_var.setdefault(s.variable or s.name, []).append(s)
        for var, ss in by_var.items():
            ss.sort(key=lambda s: s.offset)
            s0 = ss[0]
            label = reg_labels[s0.name].label or var
            if s0.entity == "individu" and entity != "individu":
                vals = members.select("person_id", *[s.name for s in ss])
                ids = vals.get_column("person_id").to_list()
                for k, pid in enumerate(ids):
                    parts = [(f"{_month_label(month, s.offset)} : " if s.monthly else "")
                             + _value_text(vals.get_column(s.name)[k], raw_members.get(
                                 var, s.monthly, pid, add_months(month, s.offset) if s.monthly else None))
                             for s in ss]
                    out.append(f"  - {label} ({var}), {member_names[pid]} : " + " ; ".join(parts))
            elif s0.entity == entity:
                parts = []
                for s in ss:
                    raw = raw_unit.get(var, s.monthly, unit_id,
                                       add_months(month, s.offset) if s.monthly else None)
                    parts.append((f"{_month_label(month, s.offset)} : " if s.monthly else "")
                                 + _value_text(rec[s.name], raw))
                out.append(f"  - {label} ({var}) : " + " ; ".join(parts))
            else:
                out.append(f"  - {label} ({var}) : " + _other_unit(result, entity, rec, s0.entity, ss, month))
    return "\n".join(out)
