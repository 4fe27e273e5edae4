"""Persons, unit memberships and identities of a household chunk, as canonical Polars frames.

Ids are global across chunks (``offset`` arguments) so parts concatenate into one territory.
Identities (NIR, names, birth date, address) live only in ``identities``: the truth side that the
agency-extract writer uses; canonical tables carry the truth person id, never a raw identifier.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from nonrecours.schemas import PERSONS, UNIT_MEMBERSHIPS
from nonrecours.schemas.months import month_index, month_of_index_expr
from nonrecours.synth.households import HouseholdChunk, PersonKind
from nonrecours.synth.names import GIVEN_F, GIVEN_M, STREETS, SURNAMES

__all__ = ["build_people", "finalise_identities", "month_date", "month_index"]

NATIONALITY_SHARES = (0.935, 0.03, 0.035)   # FR, EEA_CH, OTHER
AGRICULTURAL_SHARE = 0.07                  # households affiliated to the MSA (farmers, farm workers)
_ABROAD = np.array(["99350", "99352", "99351", "99139", "99134", "99109", "99127", "99131", "99254"])
"""INSEE country codes used as birth place of people born abroad (Maroc, Algérie, Tunisie, Portugal,
Espagne, Allemagne, Italie, Belgique, Turquie)."""


month_date = month_of_index_expr


def _ids(prefix: str, values: np.ndarray) -> pl.Series:
    return pl.select(pl.lit(prefix) + pl.Series(values, dtype=pl.Int64).cast(pl.String).str.zfill(9)).to_series()


def build_people(
    rng: np.random.Generator,
    chunk: HouseholdChunk,
    *,
    person_offset: int,
    household_offset: int,
    end_month: dt.date,
    window_start: dt.date,
    communes: pl.DataFrame,
    provenance: dict[str, object],
) -> dict[str, pl.DataFrame]:
    """Build persons, unit_memberships and identities for one chunk.

    Also returns ``person_facts`` (truth-only vectors the income generator needs: household index,
    kind, age, sex, famille and ménage ids, regime) as a frame keyed by person_id.
    """
    n, p = chunk.n_households, chunk.n_persons
    hh, kind, age = chunk.hh, chunk.kind, chunk.age
    end_idx, start_idx = month_index(end_month), month_index(window_start)
    birth_idx = end_idx - 12 * age - rng.integers(0, 12, p)

    person_no = person_offset + np.arange(p)
    hh_no = household_offset + hh
    # famille: the main family (adults + children) or, for the second family of a dwelling, its own.
    second = kind == PersonKind.SECOND
    famille_no = 2 * hh_no + second
    # foyer fiscal: married/pacs couples file jointly; cohabiting partners file alone.
    cohabiting = chunk.couple_kind[hh] == 2
    foyer_no = 3 * hh_no + np.where(second, 2, np.where((kind == PersonKind.ADULT2) & cohabiting, 1, 0))

    nat = rng.choice(3, size=n, p=NATIONALITY_SHARES)[hh]
    permit = np.where(nat == 2, np.minimum(rng.geometric(0.12, p) - 1, 40), -1)
    adult = kind != PersonKind.CHILD
    disab_u = rng.random(p)
    disability = np.where(disab_u < 0.94 + 0.05 * (~adult), 0.0,
                          np.where(disab_u < 0.975, rng.choice([0.5, 0.6, 0.7], p), rng.choice([0.8, 0.9, 1.0], p)))
    student = (age >= 18) & (age <= 25) & (rng.random(p) < np.where(kind == PersonKind.CHILD, 0.55, 0.15))
    pregnant = chunk.female & (age >= 18) & (age <= 42) & adult & (rng.random(p) < 0.025)
    regime_agri = (rng.random(n) < AGRICULTURAL_SHARE)[hh]

    commune_idx = chunk.commune[hh]
    depcom = communes["depcom"].to_numpy()[commune_idx]
    person_id = _ids("P", person_no)

    base = pl.DataFrame({
        "person_id": person_id,
        "birth_idx": birth_idx,
        "female": chunk.female,
        "nat": nat,
        "permit": permit,
        "depcom": depcom,
        "disability_rate": disability,
        "student": student,
        "pregnant": pregnant,
    })
    persons = base.select(
        "person_id",
        month_date(pl.col("birth_idx")).alias("birth_month"),
        pl.when(pl.col("female")).then(pl.lit("F")).otherwise(pl.lit("M")).cast(PERSONS.schema["sex"]).alias("sex"),
        pl.col("nat").replace_strict({0: "FR", 1: "EEA_CH", 2: "OTHER"}, return_dtype=pl.String)
        .cast(PERSONS.schema["nationality_group"]).alias("nationality_group"),
        pl.when(pl.col("permit") >= 0).then(pl.col("permit")).cast(pl.Int16).alias("residence_permit_years"),
        "depcom", "disability_rate", "student", "pregnant",
        # false here; RSDAE and unfitness for work are drawn once resources are known (synth.capacity); the
        # synthetic population models no recent isolation: false, as a fact
        *[pl.lit(False).alias(k) for k in ("rsdae", "unfit_for_work", "recent_isolation")],
        # the birth place is drawn with the identities (the NIR the extracts carry, read at ingest); the truth
        # gives every nationality, so it needs no estimate from it: left null (unknown) here
        pl.lit(None, dtype=pl.Boolean).alias("born_in_france"),
        pl.lit(False).alias("birth_month_estimated"),  # the truth knows every birth month
        # set from the resources once drawn (synth.generate)
        pl.lit(False).alias("self_employed"),
        *[pl.lit(v, dtype=PERSONS.schema[k]).alias(k) for k, v in provenance.items()],
    )

    # Unit memberships: one row per person and unit kind, valid from the later of window start and birth.
    famille_role = np.where(kind == PersonKind.ADULT1, "demandeur",
                            np.where(kind == PersonKind.ADULT2, "conjoint",
                                     np.where(kind == PersonKind.CHILD, "enfant", "demandeur")))
    foyer_role = np.where(kind == PersonKind.CHILD, "personne_a_charge", "declarant")
    menage_role = np.where(kind == PersonKind.ADULT1, "personne_de_reference",
                           np.where(kind == PersonKind.ADULT2, "conjoint",
                                    np.where(kind == PersonKind.CHILD, "enfant", "autre")))
    valid_from_idx = np.maximum(start_idx, birth_idx)
    m_schema = UNIT_MEMBERSHIPS.schema
    parts = []
    for unit_kind, prefix, numbers, roles in (
        ("famille", "F", famille_no, famille_role),
        ("foyer_fiscal", "FF", foyer_no, foyer_role),
        ("menage", "M", hh_no, menage_role),
    ):
        parts.append(pl.DataFrame({
            "person_id": person_id,
            "unit_kind": pl.Series([unit_kind] * p, dtype=m_schema["unit_kind"]),
            "unit_id": _ids(prefix, numbers),
            "role": pl.Series(roles, dtype=pl.String).cast(m_schema["role"]),
            "vf": valid_from_idx,
        }))
    memberships = pl.concat(parts).select(
        "person_id", "unit_kind", "unit_id", "role",
        month_date(pl.col("vf")).alias("valid_from"),
        pl.lit(None, dtype=pl.Date).alias("valid_to"),
        *[pl.lit(v, dtype=m_schema[k]).alias(k) for k, v in provenance.items()],
    )

    identities = _identities(rng, base, chunk, communes, commune_idx, birth_idx, regime_agri, person_id)

    facts = pl.DataFrame({
        "person_id": person_id,
        "hh": hh_no,
        "kind": kind,
        "age": age,
        "birth_idx": birth_idx,
        "female": chunk.female,
        "famille_id": _ids("F", famille_no),
        "menage_id": _ids("M", hh_no),
        "htype": chunk.htype[hh],
        "n_children": chunk.n_children[hh],
        "disability_rate": disability,
        "student": student,
        "agricultural": regime_agri,
    })
    return {"persons": persons, "unit_memberships": memberships, "identities": identities,
            "person_facts": facts}


def _identities(
    rng: np.random.Generator,
    base: pl.DataFrame,
    chunk: HouseholdChunk,
    communes: pl.DataFrame,
    commune_idx: np.ndarray,
    birth_idx: np.ndarray,
    regime_agri: np.ndarray,
    person_id: pl.Series,
) -> pl.DataFrame:
    """Raw identities: valid NIRs (unique), names shared within a family, birth date and address."""
    n, p = chunk.n_households, chunk.n_persons
    hh = chunk.hh
    # Birth place: the home commune for most, another commune of the territory for some, abroad for
    # people of another nationality (and a few French people).
    home = communes["depcom"].to_numpy()[commune_idx]
    other = communes["depcom"].to_numpy()[rng.integers(0, communes.height, p)]
    abroad = (base["nat"].to_numpy() > 0) | (rng.random(p) < 0.02)
    birth_place = np.where(abroad, _ABROAD[rng.integers(0, _ABROAD.shape[0], p)],
                           np.where(rng.random(p) < 0.6, home, other))
    surname_hh = rng.integers(0, len(SURNAMES), n)
    surname_idx = np.where(chunk.kind == PersonKind.SECOND, rng.integers(0, len(SURNAMES), p), surname_hh[hh])
    given_f = rng.integers(0, len(GIVEN_F), p)
    given_m = rng.integers(0, len(GIVEN_M), p)
    street = rng.integers(0, len(STREETS), n)[hh]
    number = rng.integers(1, 120, n)[hh]
    day = rng.integers(1, 29, p)

    df = pl.DataFrame({
        "person_id": person_id,
        "female": chunk.female,
        "birth_idx": birth_idx,
        "birth_place": birth_place,
        "surname": surname_idx,
        "given_f": given_f,
        "given_m": given_m,
        "street": street,
        "number": number,
        "day": day,
        "depcom": home,
        "postcode": communes["postcode"].to_numpy()[commune_idx],
        "agri": regime_agri,
    })
    return df.select(
        "person_id", "female", "birth_idx", "birth_place",
        pl.col("surname").replace_strict(dict(enumerate(SURNAMES)), return_dtype=pl.String).str.to_uppercase()
        .alias("last_name"),
        pl.when(pl.col("female"))
        .then(pl.col("given_f").replace_strict(dict(enumerate(GIVEN_F)), return_dtype=pl.String))
        .otherwise(pl.col("given_m").replace_strict(dict(enumerate(GIVEN_M)), return_dtype=pl.String))
        .alias("first_name"),
        "day",
        pl.concat_str(pl.col("number").cast(pl.String), pl.lit(" "),
                      pl.col("street").replace_strict(dict(enumerate(STREETS)), return_dtype=pl.String))
        .alias("address"),
        "postcode", "depcom",
        pl.when(pl.col("agri")).then(pl.lit("agricole")).otherwise(pl.lit("general")).alias("regime"),
    )


def finalise_identities(parts: pl.LazyFrame) -> pl.LazyFrame:
    """Number NIRs over the whole territory so they are unique, then drop the working columns.

    The order number (3 digits) is the rank of the person among those of the same sex, birth year,
    birth month and birth place, as INSEE numbers births in a commune's register; the key is
    97 - (13 digits mod 97), with Corsica's 2A and 2B read as 19 and 18.
    """
    year = pl.col("birth_idx") // 12
    month = pl.col("birth_idx") % 12 + 1
    dep = pl.col("birth_place").str.slice(0, 2)
    dep_num = pl.when(dep == "2A").then(19).when(dep == "2B").then(18).otherwise(
        dep.cast(pl.Int64, strict=False))
    cell = [pl.col("female"), year % 100, month, pl.col("birth_place")]  # NIRs keep two year digits
    order = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(cell, order_by="person_id")
    n13 = (
        pl.when(pl.col("female")).then(2).otherwise(1).cast(pl.Int64) * 10**12
        + (year % 100) * 10**10 + month * 10**8 + dep_num * 10**6
        + pl.col("birth_place").str.slice(2, 3).cast(pl.Int64) * 10**3 + order
    )
    key = 97 - n13 % 97
    nir = pl.concat_str(
        pl.when(pl.col("female")).then(pl.lit("2")).otherwise(pl.lit("1")),
        (year % 100).cast(pl.String).str.zfill(2), month.cast(pl.String).str.zfill(2),
        pl.col("birth_place"), order.cast(pl.String).str.zfill(3), key.cast(pl.String).str.zfill(2),
    )
    return parts.select(
        "person_id", nir.alias("nir"), "last_name", "first_name",
        pl.date(year, month, pl.col("day")).alias("birth_date"),
        "address", "postcode", "depcom", "regime",
    ).sort("person_id")
