"""Dated parameters: YAML files validated with pydantic, bound to the value in force on the first day of a
month.

A file ``parameters/minima_sociaux/rsa/montant_de_base.yaml`` is the parameter
``minima_sociaux.rsa.montant_de_base``::

    description: Montant forfaitaire du RSA pour une personne seule
    unit: currency
    reference: "CASF art. L262-2 et R262-1"
    values:
      2023-04-01: {value: 607.75, ref: "Décret n° 2023-340 du 4 mai 2023, art. 1"}
      2024-04-01: {value: 635.71, ref: "Décret n° 2024-396 du 29 avril 2024, art. 1"}

A value starting inside the evaluated month on a day other than the 1st is an error, not a guess; so is a
month before the first value, or a value ``null`` (the parameter was abolished from that date). An evaluated
month after ``CHECKED_THROUGH`` binds the last values known, with a warning (``warn_past_checked``, once per month
and store): a revaluation since then (the SMIC and the ASPA each January, the RSA each April) is not in these files.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from nonrecours.errors import NotInForceError, ParameterError

__all__ = ["CHECKED_THROUGH", "Binding", "ParameterFile", "ParameterStore", "ParameterValue", "default_parameters"]

PARAMETERS_DIR = Path(__file__).parent / "parameters"

CHECKED_THROUGH = dt.date(2026, 12, 1)
"""The last month whose values these files were checked for against the texts (revaluations published by
December 2026, ``shared/reference/parameters.md``). Move it when the files are brought up to date."""

log = logging.getLogger(__name__)

Unit = Literal["currency", "rate", "year", "month", "count", "hour", "smic_hours", "day"]


class ParameterValue(BaseModel):
    """One dated value and the legal text that set it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: int | float | None
    ref: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _no_bool(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError("a parameter value is a number (or null), not a boolean")
        return v


class ParameterFile(BaseModel):
    """The content of one parameter YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    unit: Unit
    reference: str | None = None
    notes: str | None = None
    last_value_still_valid_on: dt.date | None = None
    values: dict[dt.date, ParameterValue]

    @field_validator("values", mode="before")
    @classmethod
    def _shorthand(cls, v: object) -> object:
        """Accept ``2024-04-01: 635.71`` as ``{value: 635.71}``; reject datetimes and empty lists."""
        if not isinstance(v, dict) or not v:
            raise ValueError("values must be a non-empty mapping of start dates")
        out = {}
        for k, val in v.items():
            if isinstance(k, dt.datetime):
                raise ValueError(f"start {k} must be a date without time")
            key = k.isoformat() if isinstance(k, dt.date) else k  # readable error locations
            out[key] = val if isinstance(val, dict) else {"value": val}
        return out


@dataclass(frozen=True, slots=True)
class Binding:
    """A parameter value used for a month: what goes to the run manifest."""

    name: str
    month: dt.date
    value: int | float
    start: dt.date
    ref: str | None
    unit: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "month": self.month.isoformat(), "value": self.value,
                "start": self.start.isoformat(), "ref": self.ref, "unit": self.unit}


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, in C (libyaml) where PyYAML was built with it: the 344 parameter files take 0.02 CPU s to
parse against 0.21 with the Python parser, a fixed cost of every ``nonrecours simulate`` (both loaders build the same
values from these files, tests/rules/test_params.py compares them)."""


class ParameterStore:
    """All parameters of a directory tree, loaded and validated once."""

    def __init__(self, root: Path | str = PARAMETERS_DIR, *, checked_through: dt.date = CHECKED_THROUGH) -> None:
        self.root = Path(root)
        self.checked_through = checked_through
        self._warned: set[dt.date] = set()
        self.files: dict[str, ParameterFile] = {}
        if not self.root.is_dir():
            raise ParameterError(f"parameter directory {self.root} does not exist")
        for path in sorted(self.root.rglob("*.yaml")):
            rel = path.relative_to(self.root).with_suffix("")
            name = ".".join(rel.parts)
            try:
                raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
                self.files[name] = ParameterFile.model_validate(raw)
            except (yaml.YAMLError, ValidationError) as exc:
                first = exc.errors()[0] if isinstance(exc, ValidationError) else None
                where = ".".join(str(p) for p in first["loc"]) if first else "yaml"
                msg = first["msg"] if first else "not valid YAML"
                raise ParameterError(f"parameter file {rel}.yaml, field {where}: {msg}") from exc

    def __contains__(self, name: object) -> bool:
        return name in self.files

    def names(self) -> list[str]:
        return sorted(self.files)

    def bind(self, name: str, month: dt.date) -> Binding:
        """The value of ``name`` in force on the first day of ``month``."""
        if name not in self.files:
            raise ParameterError(f"unknown parameter {name}")
        pf = self.files[name]
        first = month.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        starts = sorted(pf.values)
        for s in starts:
            if first < s < nxt:
                raise ParameterError(
                    f"parameter {name}: a value starts on {s}, inside {first:%Y-%m}; a mid-month change "
                    "is not applied by guess")
        in_force = [s for s in starts if s <= first]
        if not in_force:
            raise NotInForceError(f"parameter {name}: no value in force in {first:%Y-%m} "
                                 f"(first value starts {starts[0]})")
        start = in_force[-1]
        pv = pf.values[start]
        if pv.value is None:
            raise NotInForceError(f"parameter {name}: not in force in {first:%Y-%m} (ended {start})")
        return Binding(name, first, pv.value, start, pv.ref or pf.reference, pf.unit)

    def warn_past_checked(self, months: Iterable[dt.date]) -> None:
        """Warn, once per month and store, of an evaluated month after ``checked_through``: its bindings are the
        last values known. Called for the months evaluated, not for every month a rule reads: June 2026's ARS
        reads the BMAF up to March 2027 for the payment of the coming school year, which needs no warning."""
        for month in sorted({m.replace(day=1) for m in months}):
            if month > self.checked_through and month not in self._warned:
                self._warned.add(month)
                log.warning("%s: the parameters are checked through %s; this month binds the last values known, "
                            "without any revaluation since (the SMIC and the ASPA each January, the RSA each "
                            "April)", f"{month:%Y-%m}", f"{self.checked_through:%Y-%m}")


_DEFAULT: ParameterStore | None = None


def default_parameters() -> ParameterStore:
    """The package's parameters (``nonrecours/rules/parameters``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ParameterStore(PARAMETERS_DIR)
    return _DEFAULT
