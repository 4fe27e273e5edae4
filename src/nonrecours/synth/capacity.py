"""Capacity for work in the synthetic truth: RSDAE and unfitness for work, drawn per person.

- **RSDAE** (restriction substantielle et durable d'accès à l'emploi, CSS art. L821-2): recognised by the CDAPH
  to a person whose disability rate is 50 to 79 %, before the legal retirement age, when the disability
  substantially restricts their access to work. It opens the AAH at that rate. Drawn for adults of 20 to 63
  with a rate in that band: more often for those out of work (the DREES counts close to half of AAH recipients
  at a rate of 50 to 79 %, hence with a RSDAE), rarely for those in work.
- **Unfitness for work** (inaptitude au travail, CSS art. L351-7, recognised by the pension fund at the
  retirement claim): opens the full-rate pension, and the ASPA from the legal retirement age instead of 65
  (CSS art. L815-1). Drawn among retirees of 60 and over (those the truth pays a pension), more often with a
  recognised disability (in the régime général, retirements for unfitness or after an invalidity pension are
  on the order of one in six).

These are generator assumptions, not legal values; a person outside the populations above is neither (false, as a
fact of the truth). The draws use their own random stream, so the rest of the territory does not change.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["RSDAE_SHARES", "UNFIT_SHARES", "draw_work_capacity"]

RSDAE_SHARES = {"out_of_work": 0.8, "in_work": 0.3}
"""Share with a RSDAE among adults of 20 to 63 with a 50-79 % disability rate: without earnings, with earnings."""
UNFIT_SHARES = {"disabled": 0.5, "other": 0.12}
"""Share recognised unfit for work among retirees of 60 and over: with a rate of 50 % or more, the others."""
_RSDAE_AGES = (20, 63)
_RSDAE_RATES = (0.5, 0.8)
_UNFIT_MIN_AGE = 60


def draw_work_capacity(rng: np.random.Generator, facts: pl.DataFrame, resources: pl.DataFrame) -> pl.DataFrame:
    """(person_id, rsdae, unfit_for_work) for the persons of ``facts`` (person_id, age, disability_rate).

    ``resources``: the truth's long resources of the same persons; a salary or self-employment income in any
    month marks a person in work, a pension a retiree.
    """
    kinds = resources.select("person_id", pl.col("kind").cast(pl.String)).unique()
    worker = kinds.filter(pl.col("kind").is_in(["salary_net", "self_employment"])).get_column("person_id")
    retiree = kinds.filter(pl.col("kind") == "pension_gross").get_column("person_id")
    people = facts.select("person_id", "age", "disability_rate").with_columns(
        pl.col("person_id").is_in(worker.implode()).alias("works"),
        pl.col("person_id").is_in(retiree.implode()).alias("retired"))
    age = people.get_column("age").to_numpy()
    rate = people.get_column("disability_rate").to_numpy()
    works = people.get_column("works").to_numpy()
    retired = people.get_column("retired").to_numpy()
    u_rsdae, u_unfit = rng.random(people.height), rng.random(people.height)
    band = (rate >= _RSDAE_RATES[0]) & (rate < _RSDAE_RATES[1]) & (age >= _RSDAE_AGES[0]) & (age <= _RSDAE_AGES[1])
    rsdae = band & (u_rsdae < np.where(works, RSDAE_SHARES["in_work"], RSDAE_SHARES["out_of_work"]))
    unfit = retired & (age >= _UNFIT_MIN_AGE) & (
        u_unfit < np.where(rate >= _RSDAE_RATES[0], UNFIT_SHARES["disabled"], UNFIT_SHARES["other"]))
    return pl.DataFrame({"person_id": people.get_column("person_id"), "rsdae": rsdae, "unfit_for_work": unfit})
