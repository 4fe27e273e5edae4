"""Who lives with whom on the evaluated month: every person any agency knows, in reconciled units.

Precedence (documented, counted when sources disagree):

1. a famille or ménage membership comes from the agency that *pays* that famille (CAF/MSA benefits in the
   window), else from one the person's DGFiP declaration does not belie (a famille whose adults are not the two
   declarants of the person's latest joint declaration comes after one whose are, or of which nothing is said),
   else from the most recent news (the extract's date; for a DGFiP dwelling, the 1st January after its income
   year, as its declaration gave it), else the latest start, else ``CoreConfig.composition_priority``;
2. a foyer fiscal comes from the DGFiP (its latest income year valid on the month);
3. from the DGFiP foyer: a co-declarant no agency puts in a famille joins the famille of the other
   declarant as its conjoint when that famille has none (a retiree's spouse the CNAV does not list); the
   declarants no agency lists become the parents of a famille listing only children who are their
   dependants (the allocataire's row was lost); a dependant under 18 joins a declarant's famille as a child
   (the famille built for that declarant when no agency lists them); an adult dependant is hosted in the
   declarant's ménage and keeps no famille from the DGFiP: step 4 builds one of their own (an adult child living
   with the parents), and ``core.inputs`` marks the composition of that famille and of the declarants' famille
   unknown when the dependant is under 25 (at the parents' charge or a foyer of their own: no extract says);
   a famille listing its conjoint but no demandeur (the allocataire's row lost) takes as demandeur the one
   declarant no agency lists, alone on their declaration, that the DGFiP links to it: a child of the famille is
   their dependant, else they are declared in the conjoint's dwelling within ``CoreConfig.partner_age_gap``
   years (``_lost_demandeurs``; without it step 4 built that adult a famille of their own, single by estimate,
   and their child's: one person's famille in two); a famille listing a demandeur and no conjoint takes as
   conjoint the one declarant in the extract of a joint declaration missing its other declarant
   (``declarant_missing``) whose dependants include a child of the famille, when the demandeur has no
   declaration in the extract (the missing declarant) and is within the same age gap (``_lost_partners``);
   the two declarants of a joint declaration whom two agencies list in two familles, each missing the other
   partner, are one couple (``_split_couples``), and so are the two whom the pension funds
   (``CoreConfig.pension_files``: the CNAV, and the MSA for a retiree's dossier) list each alone in a file of
   their own, paying neither anything, in one dwelling (``_pension_file_couples``: a file per retiree's pension is
   no composition the fund assessed);
4. anyone still without a famille gets one of their own (demandeur); without a ménage, their famille
   demandeur's ménage, else one of their own. Built unit ids are ``core-famille:<person>`` and
   ``core-menage:<person>`` (workspace pseudonyms, nothing new). A minor still without a famille (a child or
   newborn only the health insurer lists, the CAF not yet) is the child of a famille without a parent: nobody's
   claimant, evaluated in no famille (``minor_in_no_famille``, ``famille_without_parent``).

A famille whose demandeur is neither the reference person of the ménage nor their partner is hosted free
of charge (several familles in one dwelling: only the reference person's pays the rent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from nonrecours.core.resources import CoreConfig, month_range
from nonrecours.rules.params import default_parameters
from nonrecours.schemas.codes import HOUSEHOLDER_ROLES
from nonrecours.schemas.tables import valid_on

__all__ = ["declarant_missing", "dgfip_dwellings", "people", "qualified", "qualifier", "reconcile",
           "shared_dwellings"]

_MENAGE_ROLE_OF = {"demandeur": "personne_de_reference", "conjoint": "conjoint", "enfant": "enfant"}


def qualified(agency: str, unit_id: str, source: str | None = None) -> pl.Expr:
    """A famille or ménage id qualified by its agency (ids are agency-local: two agencies' "F1" must not
    merge); the synthetic truth's ids are global and kept as they are. ``source``: the column saying where
    the row comes from, when it is not ``agency`` (a payment of the truth names its payer, CAF or MSA, but
    its unit id is the truth's own)."""
    return (pl.when(pl.col(source or agency).cast(pl.String) == "synth").then(pl.col(unit_id))
            .otherwise(pl.col(agency).cast(pl.String) + ":" + pl.col(unit_id)))


def qualifier(unit_id: str) -> pl.Expr:
    """The agency that qualified the id in column ``unit_id`` (``qualified``): the part before the first ``:``
    (``caf``, ``msa``, ``core-famille`` for a famille the core built); null for an unqualified id (the truth's)."""
    return pl.col(unit_id).str.extract(r"^([^:]+):", 1)


def people(lf: Mapping[str, pl.LazyFrame]) -> pl.DataFrame:
    """Every person id any canonical table holds (persons, memberships, resources, payments, yearly income),
    with the agencies that know them."""
    parts = []
    for table in ("persons", "unit_memberships", "resources", "annual_income"):
        if table in lf:
            parts.append(lf[table].select("person_id", pl.col("source_agency").cast(pl.String)).unique())
    if "benefits_paid" in lf:
        parts.append(lf["benefits_paid"].filter(pl.col("person_id").is_not_null())
                     .select("person_id", pl.col("source_agency").cast(pl.String)).unique())
    if not parts:
        return pl.DataFrame(schema={"person_id": pl.String, "agencies": pl.List(pl.String)})
    return (pl.concat(parts, how="vertical_relaxed").filter(pl.col("person_id").is_not_null()
                                                             & (pl.col("person_id") != ""))
            .unique().group_by("person_id").agg(pl.col("source_agency").sort().alias("agencies")).collect())


def _latest_composition(members: pl.DataFrame, month: dt.date) -> tuple[pl.DataFrame, int]:
    """``members`` (valid on ``month``) without the famille and ménage rows an agency's later extract overrides: an
    extract lists a dossier's members as of its date (caf.md: a member who left has no line in it any more), so
    of the extracts of one agency listing a unit, the first dated in or after the month (else the latest) gives its
    composition and the rows of older extracts of that unit go, with the count. Before: a workspace fed monthly
    CAF files kept a partner who left in March in the couple's dossier (its February line never closed), the
    dossier still paid won the precedence, and the man's single RSA read as an under-payment of the couple's while
    the woman's own dossier lost her. Rows of later extracts stay (a month before an extract's date is read from
    the first extract after it, the members it still lists included); foyers fiscaux keep the DGFiP's year."""
    unit = ["source_agency", "unit_kind", "unit_id"]
    dated = members.filter(pl.col("extract_date").is_not_null() & (pl.col("unit_kind") != "foyer_fiscal"))
    composed = (dated.group_by(unit)
                .agg(pl.coalesce(pl.col("extract_date").filter(pl.col("extract_date") >= month).min(),
                                 pl.col("extract_date").max()).alias("_composed")))
    marked = (members.join(composed, on=unit, how="left", maintain_order="left")
              .with_columns((pl.col("extract_date") < pl.col("_composed")).fill_null(False).alias("_stale")))
    return marked.filter(~pl.col("_stale")).drop("_composed", "_stale"), int(marked["_stale"].sum())


def _choose(members: pl.DataFrame, payers: pl.DataFrame, config: CoreConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """One membership per person and unit kind, by the precedence above; conflicts counted by kind."""
    order = {a: i for i, a in enumerate(config.composition_priority)}
    ranked = (members.join(payers, on=["source_agency", "unit_id"], how="left")
              .with_columns(pl.col("_paid").fill_null(False),
                            pl.col("source_agency").replace_strict(order, default=99, return_dtype=pl.Int32)
                            .alias("_order")))
    # Foyers: the DGFiP's latest year; familles and ménages: the payer, the latest news, the latest start, the
    # order. The news of a membership is its extract's date, but a DGFiP dwelling is the one its income year's
    # declaration gave (filed the spring after, the dwelling of the 1st January after): ranked by its start alone,
    # a 2024 declaration outranked every dossier a CAF opened before 2024 and pays nothing this month, whose June
    # extract still lists its housing (the rent of a worker without his prime d'activité lost to an estimate).
    news = (pl.when(pl.col("source_agency").cast(pl.String) == "dgfip")
            .then(pl.min_horizontal(pl.col("valid_from").dt.offset_by("1y"), pl.col("extract_date")))
            .otherwise(pl.col("extract_date")).fill_null(pl.col("valid_from")))
    ranked = ranked.with_columns(
        pl.when(pl.col("unit_kind") == "foyer_fiscal").then(pl.col("source_agency") != "dgfip")
        .otherwise(~pl.col("_paid")).alias("_k1"), news.alias("_news"))
    ranked = ranked.with_columns(_belied_by_declaration(members, ranked).alias("_belied"))
    # ties (one agency's two dossiers listing a person alike: a child in alternating custody, listed by each parent)
    # keep the extract's order, whatever the sort's threads do
    chosen = ranked.sort(["_k1", "_belied", "_news", "valid_from", "_order"],
                         descending=[False, False, True, True, False], maintain_order=True) \
        .unique(subset=["person_id", "unit_kind"], keep="first", maintain_order=True).drop("_news", "_belied")
    # Conflicts: two agencies put a person in units of different sizes or with different roles.
    size = members.group_by("source_agency", "unit_kind", "unit_id").agg(pl.len().alias("_size"))
    per = (members.join(size, on=["source_agency", "unit_kind", "unit_id"])
           .group_by("person_id", "unit_kind")
           .agg(pl.col("_size").n_unique().alias("_sizes"), pl.col("role").n_unique().alias("_roles"),
                pl.col("source_agency").n_unique().alias("_agencies")))
    counts: dict[str, int] = {}
    for kind in ("famille", "menage", "foyer_fiscal"):
        k = per.filter(pl.col("unit_kind") == kind)
        counts[f"{kind}_composition_differs"] = k.filter(pl.col("_sizes") > 1).height
        counts[f"{kind}_role_differs"] = k.filter(pl.col("_roles") > 1).height
    # a person one agency lists in two of its dossiers this month (a child in alternating custody, listed by each
    # parent: no layout says it): evaluated in one famille, counted (the other parent's benefits miss the child)
    counts["famille_in_two_dossiers"] = (
        members.filter(pl.col("unit_kind") == "famille").group_by("person_id", "source_agency")
        .agg(pl.col("unit_id").n_unique()).filter(pl.col("unit_id") > 1).select("person_id").n_unique())
    return chosen, counts


def _belied_by_declaration(members: pl.DataFrame, ranked: pl.DataFrame) -> pl.Series:
    """For each famille membership of ``ranked``, whether the person's latest DGFiP foyer fiscal belies it: a joint
    declaration whose two declarants are not the famille's adults (demandeur, conjoint). A married man the CAF
    lists as the conjoint of his wife's dossier, whom the MSA also lists alone in a dossier of his own (his
    affiliation, opened later), and whose couple files one declaration: the MSA's dossier is belied, the CAF's is
    not. Until 4 December 2026 the later start won and split the couple: a lone parent's RSA and ASF flagged for
    the wife. A dossier's ménage (the same id) is belied with its famille when the person has another famille.
    False (no evidence) without a joint declaration, and for a foyer fiscal."""
    dgfip_foyer = (pl.col("unit_kind") == "foyer_fiscal") & (pl.col("source_agency") == "dgfip")
    foyer = (members.filter(dgfip_foyer).sort("valid_from", descending=True)
             .unique("person_id", keep="first", maintain_order=True).select("person_id", pl.col("unit_id").alias("_f")))
    # a joint declaration only: an unmarried partner files one of their own, so a single declarant belies no couple
    declarants = (members.filter(dgfip_foyer & (pl.col("role") == "declarant")).group_by("unit_id")
                  .agg(pl.col("person_id").unique().sort().alias("_decl")).rename({"unit_id": "_f"})
                  .filter(pl.col("_decl").list.len() == 2))
    adults = (members.filter((pl.col("unit_kind") == "famille") & pl.col("role").is_in(["demandeur", "conjoint"]))
              .group_by("source_agency", "unit_id").agg(pl.col("person_id").unique().sort().alias("_adults")))
    key = ["person_id", "source_agency", "unit_id"]
    familles = ranked.filter(pl.col("unit_kind") == "famille").select(key).unique()
    belied = (familles.join(adults, on=["source_agency", "unit_id"]).join(foyer, on="person_id")
              .join(declarants, on="_f").select(*key, (pl.col("_adults") != pl.col("_decl")).alias("_b")))
    # the ménage of the same dossier (an agency's famille and ménage share its id) goes with its famille, when the
    # person has a famille it does not belie (else the famille stays, and so does its dwelling: precedence 3 may
    # join it to the co-declarant's)
    judged = familles.join(belied, on=key, how="left").with_columns(pl.col("_b").fill_null(False))
    elsewhere = judged.group_by("person_id").agg((~pl.col("_b")).any().alias("_elsewhere"))
    return (ranked.select("unit_kind", *key).join(judged, on=key, how="left", maintain_order="left")
            .join(elsewhere, on="person_id", how="left", maintain_order="left")
            .select(pl.when(pl.col("unit_kind") == "famille").then(pl.col("_b"))
                    .when(pl.col("unit_kind") == "menage").then(pl.col("_b") & pl.col("_elsewhere"))
                    .fill_null(False).alias("_belied")).to_series())


_FOUND = {"person_id": pl.String, "_fam": pl.String, "_men": pl.String, "_mrole": pl.String, "_msrc": pl.String,
          "_mdate": pl.Date}
"""An adult found for a famille (``_lost_demandeurs``, ``_lost_partners``): the famille, and the ménage with the role,
agency and extract date the adult takes there."""


def _partner_of(role: str) -> pl.Expr:
    """The ménage role of the partner of someone whose ménage role is in column ``role``: the reference person's
    conjoint, the conjoint's reference person, else the same role (a hosted couple)."""
    return (pl.when(pl.col(role) == "personne_de_reference").then(pl.lit("conjoint"))
            .when(pl.col(role) == "conjoint").then(pl.lit("personne_de_reference"))
            .otherwise(pl.col(role)))


def _lost_demandeurs(wide: pl.DataFrame, age: pl.DataFrame, dwellings: pl.DataFrame, gap: int) -> pl.DataFrame:
    """The demandeurs a family agency or pension fund lost, found at the DGFiP: (person_id, ``_fam``, ``_men``,
    ``_mrole``, ``_msrc``, ``_mdate``): a declarant no agency lists in a famille, alone on their declaration in the
    extract, for a famille listing one conjoint and no demandeur, joined

    - by a child: a child of the famille is a dependant of the declarant's foyer fiscal (the DGFiP's link of that
      adult to that child);
    - else by the dwelling: the DGFiP declares the declarant in the dwelling where it declares the famille's
      conjoint (an unmarried partner files a declaration of their own), their ages less than ``gap`` years apart.

    Only a link naming one declarant for the famille, and one famille for the declarant, is taken (the
    strongest kind first): two candidates are no evidence for either. The declarant takes the conjoint's ménage
    (the dossier's: its housing) as its reference person, or as the reference person's conjoint when the
    conjoint is that person."""
    roles = (wide.filter(pl.col("famille_id").is_not_null()).group_by("famille_id")
             .agg((pl.col("famille_role") == "demandeur").any().alias("_d"),
                  (pl.col("famille_role") == "conjoint").sum().alias("_c")))
    headless = roles.filter(~pl.col("_d") & (pl.col("_c") == 1)).select("famille_id")
    if headless.is_empty():
        return pl.DataFrame(schema=_FOUND)
    members = wide.join(headless, on="famille_id", how="semi")
    declarants = wide.filter(pl.col("foyer_fiscal_role") == "declarant")
    alone = declarants.group_by("foyer_fiscal_id").len().filter(pl.col("len") == 1)
    free = (declarants.filter(pl.col("famille_id").is_null()).join(alone, on="foyer_fiscal_id", how="semi")
            .select("person_id", "foyer_fiscal_id"))
    by_child = (members.filter((pl.col("famille_role") == "enfant")
                               & (pl.col("foyer_fiscal_role") == "personne_a_charge"))
                .select("famille_id", "foyer_fiscal_id").join(free, on="foyer_fiscal_id", how="inner")
                .select("famille_id", "person_id", pl.lit(0).alias("_link")))
    conj = members.filter(pl.col("famille_role") == "conjoint").select(
        "famille_id", pl.col("person_id").alias("_c"), pl.col("menage_id").alias("_men"),
        pl.col("menage_role").alias("_crole"), pl.col("menage__source").alias("_msrc"),
        pl.col("menage__date").alias("_mdate"))
    ages = age.select("person_id", "age")
    by_home = (free.select("person_id").join(dwellings, on="person_id", how="inner").join(ages, on="person_id")
               .join(conj.select("famille_id", "_c")
                     .join(dwellings.rename({"person_id": "_c"}), on="_c", how="inner")
                     .join(ages.rename({"person_id": "_c", "age": "_age"}), on="_c"), on="_loc", how="inner")
               .filter((pl.col("age") - pl.col("_age")).abs() < gap)
               .select("famille_id", "person_id", pl.lit(1).alias("_link")))
    links = (pl.concat([by_child, by_home]).group_by("famille_id", "person_id").agg(pl.col("_link").min())
             .filter(pl.col("_link") == pl.col("_link").min().over("famille_id"))
             .filter(pl.len().over("famille_id") == 1)
             .filter(pl.col("_link") == pl.col("_link").min().over("person_id"))
             .filter(pl.len().over("person_id") == 1))
    return (links.join(conj, on="famille_id", how="inner")
            .select("person_id", pl.col("famille_id").alias("_fam"), "_men",
                    _partner_of("_crole").alias("_mrole"), "_msrc", "_mdate")
            .cast(_FOUND))  # type: ignore[arg-type]


def _lost_partners(wide: pl.DataFrame, age: pl.DataFrame, missing: pl.DataFrame, gap: int) -> pl.DataFrame:
    """The partners of lone parents a family agency follows, found at the DGFiP: (person_id, ``_fam``, ``_men``,
    ``_mrole``, ``_msrc``, ``_mdate``): the one declarant in the extract of a joint declaration whose other
    declarant it lacks (``missing``: ``declarant_missing``), no agency listing them in a famille, who declares a
    child of a famille listing a demandeur and no conjoint, that demandeur having no declaration in the extract
    (the declaration's missing declarant) and an age less than ``gap`` years apart from theirs.

    Only a link naming one declarant for the famille and one famille for the declarant is taken. The declarant
    joins the famille as its conjoint, and the demandeur's ménage (the dossier's) as the reference person's
    conjoint (as the reference person when the demandeur is the conjoint there)."""
    roles = (wide.filter(pl.col("famille_id").is_not_null()).group_by("famille_id")
             .agg((pl.col("famille_role") == "demandeur").sum().alias("_d"),
                  (pl.col("famille_role") == "conjoint").sum().alias("_c")))
    single = roles.filter((pl.col("_d") == 1) & (pl.col("_c") == 0)).select("famille_id")
    if single.is_empty() or missing.is_empty():
        return pl.DataFrame(schema=_FOUND)
    members = wide.join(single, on="famille_id", how="semi")
    parent = (members.filter((pl.col("famille_role") == "demandeur") & pl.col("foyer_fiscal_id").is_null())
              .join(age.select("person_id", pl.col("age").alias("_age")), on="person_id")
              .select("famille_id", "_age", pl.col("menage_id").alias("_men"), pl.col("menage_role").alias("_prole"),
                      pl.col("menage__source").alias("_msrc"), pl.col("menage__date").alias("_mdate")))
    declarants = wide.filter(pl.col("foyer_fiscal_role") == "declarant")
    alone = declarants.group_by("foyer_fiscal_id").len().filter(pl.col("len") == 1)
    free = (declarants.filter(pl.col("famille_id").is_null()).join(alone, on="foyer_fiscal_id", how="semi")
            .join(missing, on="person_id", how="semi").join(age, on="person_id")
            .select("person_id", "foyer_fiscal_id", "age"))
    links = (members.filter((pl.col("famille_role") == "enfant") & (pl.col("foyer_fiscal_role") == "personne_a_charge"))
             .select("famille_id", "foyer_fiscal_id").unique()
             .join(free, on="foyer_fiscal_id", how="inner").join(parent, on="famille_id", how="inner")
             .filter((pl.col("age") - pl.col("_age")).abs() < gap)
             .unique(subset=["famille_id", "person_id"])
             .filter(pl.len().over("famille_id") == 1).filter(pl.len().over("person_id") == 1))
    return (links.select("person_id", pl.col("famille_id").alias("_fam"), "_men",
                         _partner_of("_prole").alias("_mrole"), "_msrc", "_mdate")
            .cast(_FOUND))  # type: ignore[arg-type]


def _isolated(lf: Mapping[str, pl.LazyFrame]) -> pl.Series:
    """person_id of everyone an agency's row records as recently isolated (the CAF's « isolement récent »)."""
    if "persons" not in lf or "recent_isolation" not in lf["persons"].collect_schema().names():
        return pl.Series("person_id", [], dtype=pl.String)
    return (lf["persons"].filter(pl.col("recent_isolation").fill_null(False)).select("person_id").unique()
            .collect().get_column("person_id"))


def _retirees(lf: Mapping[str, pl.LazyFrame], month: dt.date, agencies: tuple[str, ...]) -> pl.DataFrame:
    """(person_id, ``famille__source``): who draws a pension (``pension_net``, ``pension_gross``) of one of
    ``agencies`` in the twelve months to ``month`` (a retiree's pension is paid every month: a year tells a retiree
    from a farmer whose dossier has no pension line, whatever the rules' window)."""
    if not agencies or "resources" not in lf:
        return pl.DataFrame(schema={"person_id": pl.String, "famille__source": pl.String})
    first = month_range(month, 11)[0]
    return (lf["resources"].filter((pl.col("month") >= first) & (pl.col("month") <= month)
                                   & pl.col("kind").cast(pl.String).is_in(["pension_net", "pension_gross"])
                                   & pl.col("source_agency").cast(pl.String).is_in(list(agencies)))
            .select("person_id", pl.col("source_agency").cast(pl.String).alias("famille__source")).unique()
            .collect())


def _split_couples(wide: pl.DataFrame, paid: pl.DataFrame, config: CoreConfig,
                   isolated: pl.Series | None = None) -> pl.DataFrame:
    """The spouses two agencies each list in a famille of their own, each famille missing the partner the other
    lists: (person_id, ``_fam``, ``_men``, ``_mrole``, ``_msrc``, ``_mdate``, ``_role``), the adult who moves.

    Two declarants of one foyer fiscal declare jointly because they are married or PACS partners (CGI art. 6, 1),
    and one famille is a couple with its children (CSS art. L262-2, L842-1, R861-2 all count the spouse or
    partner). When one is the demandeur of a famille listing no conjoint and the other the conjoint of a famille
    listing no demandeur (a CAF dossier and a CNAV file, each having lost the other partner's row), the two
    familles are one couple seen twice: detection otherwise judged each as a person alone (a certain prime
    d'activité for a CAF allocataire whose pensioned spouse only the CNAV lists). The famille that stays is the
    one paid as a famille in the window (the payer's, rule 1), else the first agency of
    ``CoreConfig.composition_priority``; the other partner joins it in the role their own agency gave them,
    and its ménage as the reference person's partner. Only a famille holding nobody but that partner is left
    (children or a famille-level payment on it would be split otherwise), and only a pair naming one famille
    for each."""
    empty = pl.DataFrame(schema={**_FOUND, "_role": pl.String})
    fam = wide.filter(pl.col("famille_id").is_not_null())
    roles = fam.group_by("famille_id").agg(
        (pl.col("famille_role") == "demandeur").sum().alias("_d"),
        (pl.col("famille_role") == "conjoint").sum().alias("_c"), pl.len().alias("_n"))
    lone = roles.filter((pl.col("_d") + pl.col("_c")) == 1)
    decl = (fam.filter((pl.col("foyer_fiscal_role") == "declarant") & pl.col("famille_role").is_in(["demandeur",
                                                                                                      "conjoint"]))
            .join(lone, on="famille_id", how="inner")
            .select("person_id", "foyer_fiscal_id", "famille_id", "famille_role", "famille__source", "menage_id",
                    "menage_role", "menage__source", "menage__date", "_n"))
    if decl.is_empty():
        return empty
    joint = decl.group_by("foyer_fiscal_id").len().filter(pl.col("len") == 2).select("foyer_fiscal_id")
    decl = decl.join(joint, on="foyer_fiscal_id", how="semi")
    order = {a: i for i, a in enumerate(config.composition_priority)}
    unpaid = ~pl.col("famille_id").is_in(paid.get_column("famille_id").implode())
    decl = decl.with_columns(unpaid.alias("_unpaid"), (unpaid.cast(pl.Int32) * 1000 + pl.col("famille__source")
                                                       .replace_strict(order, default=99, return_dtype=pl.Int32))
                             .alias("_rank"))
    pairs = (decl.join(decl, on="foyer_fiscal_id", suffix="_s")
             .filter((pl.col("person_id") != pl.col("person_id_s")) & (pl.col("famille_id") != pl.col("famille_id_s"))
                     & (pl.col("famille_role") != pl.col("famille_role_s"))))
    if isolated is not None and isolated.len():  # a partner an agency records as recently isolated: separated
        gone = isolated.implode()
        pairs = pairs.filter(~pl.col("person_id").is_in(gone) & ~pl.col("person_id_s").is_in(gone))
    # the mover: the partner whose famille ranks after the other's (paid first, then the priority), alone in it
    # and not paid as a famille
    after = (pl.col("_rank") > pl.col("_rank_s")) | ((pl.col("_rank") == pl.col("_rank_s"))
                                                      & (pl.col("famille_id") > pl.col("famille_id_s")))
    movers = pairs.filter(after & (pl.col("_n") == 1) & pl.col("_unpaid"))
    movers = movers.filter(pl.len().over("person_id") == 1).filter(pl.len().over("famille_id_s") == 1)
    if movers.is_empty():
        return empty
    return movers.select(
        "person_id", pl.col("famille_id_s").alias("_fam"), pl.col("menage_id_s").alias("_men"),
        _partner_of("menage_role_s").alias("_mrole"), pl.col("menage__source_s").alias("_msrc"),
        pl.col("menage__date_s").alias("_mdate"), pl.col("famille_role").alias("_role")).cast(
        {**_FOUND, "_role": pl.String})  # type: ignore[arg-type]


def _pension_file_couples(wide: pl.DataFrame, paid: pl.DataFrame, paid_people: pl.DataFrame, config: CoreConfig,
                          isolated: pl.Series, dwellings: pl.DataFrame, members: pl.DataFrame,
                          retirees: pl.DataFrame | None = None) -> pl.DataFrame:
    """The spouses pension funds list in two files of their own, each alone: (person_id, ``_fam``, ``_men``,
    ``_mrole``, ``_msrc``, ``_mdate``, ``_across``), the spouse who moves, as the conjoint of the other's famille;
    ``_across``: the two files are two funds' (the MSA's and the CNAV's), not one's.

    A married couple is assessed together for the ASPA (CSS art. L815-1, L815-9, D815-1: the couple's resources
    against the couple's ceiling), and a famille is a couple with its children; but a pension fund pays each
    retiree's own pension from a file of their own, and a couple drawing no ASPA has no reason to share one (an
    outside author writing extracts from the docs gave each spouse their own NUM_DOSSIER_ASPA as titulaire: two
    single retirees of 850 €, each flagged an ASPA the couple, at 1,700 € against about 1,620 €, is not due; 6
    December 2026). Nor do two spouses of two funds: a farmer's wife salaried in the general scheme draws her
    pension from the CNAV, his from the MSA (another tester's couple, 6 December 2026: flagged twice as single, 393.60
    € on the MSA's list and 543.60 € on the CNAV's, where the couple is due 470.18 €). Two declarants of one joint
    declaration (CGI art. 6, 1) whom agencies of ``CoreConfig.pension_files`` (one or two of them) list each as the
    demandeur of a famille holding nobody else are one couple, unless

    - the agency of either file pays that spouse or that file something in the window (its ASPA assessed the
      payee's household as it lists it: a single person; the MSA's family benefits, RSA, prime d'activité or
      housing aid assessed the dossier's composition),
    - the file is one of an agency of ``CoreConfig.pension_files_if_retired`` (the MSA) and its demandeur draws no
      pension of that agency in the twelve months to the month (``retirees``: a dossier with no pension line is no
      retiree's file but a farmer's or farm worker's, the composition the MSA would assess for family benefits),
    - an agency records the recent isolation of either (``_isolated``: a separation after the declared year),
    - the DGFiP declares them in two dwellings (its latest local of each, when it gives both).

    Never the CAF: its dossier is the composition it assesses for family benefits, and two dossiers of two spouses
    a separation that the DGFiP's declaration, last year's, predates (precedence 1: the payer's composition, else
    the latest news). A retiree's MSA dossier holding them alone, paid nothing, assessed no composition: the MSA
    is the farmers' pension fund as the CNAV is the employees', and two such dossiers of two spouses (each a
    retired farmer: the chef d'exploitation's pension and the conjoint collaborateur's) are two pension files as
    two CNAV files are. The famille that stays is the file of the declaration's first declarant (DEC1, the
    reference person of the DGFiP's dwelling: its latest one valid on the month, ``members``), else the smaller id
    (the files are alike; a pseudonym's order changes with the key, the DGFiP's does not); the other spouse joins
    it as its conjoint, and its ménage as the reference person's partner. The couple's flags follow that famille:
    its demandeur is the claimant, and the outreach list is the one of the claimant's fund (the MSA's for the
    MSA's members, ``outputs.outreach``)."""
    fam = wide.filter(pl.col("famille_id").is_not_null())
    sizes = fam.group_by("famille_id").agg(pl.len().alias("_n"))
    alone = (fam.filter((pl.col("famille_role") == "demandeur") & (pl.col("foyer_fiscal_role") == "declarant")
                        & pl.col("famille__source").is_in(list(config.pension_files)))
             .join(sizes.filter(pl.col("_n") == 1), on="famille_id", how="semi")
             .select("person_id", "foyer_fiscal_id", "famille_id", "famille__source", "menage_id", "menage_role",
                     "menage__source", "menage__date"))
    if_retired = pl.col("famille__source").is_in(list(config.pension_files_if_retired))
    if retirees is not None:
        alone = pl.concat([alone.filter(~if_retired),
                           alone.filter(if_retired).join(retirees, on=["person_id", "famille__source"], how="semi")])
    else:
        alone = alone.filter(~if_retired)
    empty = pl.DataFrame(schema={**_FOUND, "_across": pl.Boolean})
    if alone.is_empty():
        return empty
    joint = (wide.filter(pl.col("foyer_fiscal_role") == "declarant").group_by("foyer_fiscal_id").len()
             .filter(pl.col("len") == 2).select("foyer_fiscal_id"))
    payees = paid_people.select("person_id", pl.col("source_agency").alias("famille__source"))
    alone = (alone.join(joint, on="foyer_fiscal_id", how="semi")
             .join(payees, on=["person_id", "famille__source"], how="anti")
             .filter(~pl.col("famille_id").is_in(paid.get_column("famille_id").implode())
                     & ~pl.col("person_id").is_in(isolated.implode()))
             .join(dwellings, on="person_id", how="left"))
    dec1 = (members.filter((pl.col("source_agency") == "dgfip") & (pl.col("unit_kind") == "menage"))
            .sort(["valid_from", "extract_date", "unit_id"], descending=[True, True, False], nulls_last=True)
            .unique(subset=["person_id"], keep="first", maintain_order=True)
            .select("person_id", (pl.col("role") == "personne_de_reference").alias("_dec1")))
    alone = alone.join(dec1, on="person_id", how="left").with_columns(pl.col("_dec1").fill_null(False))
    # the mover: the partner who is not the DEC1 while the other is, else the one of the larger id
    after = ((~pl.col("_dec1") & pl.col("_dec1_s"))
             | ((pl.col("_dec1") == pl.col("_dec1_s")) & (pl.col("famille_id") > pl.col("famille_id_s"))))
    pairs = (alone.join(alone, on="foyer_fiscal_id", suffix="_s")
             .filter((pl.col("person_id") != pl.col("person_id_s")) & after
                     & (pl.col("_loc").is_null() | pl.col("_loc_s").is_null() | (pl.col("_loc") == pl.col("_loc_s")))))
    if pairs.is_empty():
        return empty
    return pairs.select(
        "person_id", pl.col("famille_id_s").alias("_fam"), pl.col("menage_id_s").alias("_men"),
        _partner_of("menage_role_s").alias("_mrole"), pl.col("menage__source_s").alias("_msrc"),
        pl.col("menage__date_s").alias("_mdate"),
        (pl.col("famille__source") != pl.col("famille__source_s")).alias("_across")).cast(
        {**_FOUND, "_across": pl.Boolean})  # type: ignore[arg-type]


def _join_adults(wide: pl.DataFrame, found: pl.DataFrame, role: str) -> pl.DataFrame:
    """``wide`` with the adults of ``found`` (``_lost_demandeurs``, ``_lost_partners``) in their famille as
    ``role``, and in its ménage when it has one."""
    return (wide.join(found, on="person_id", how="left").with_columns(
        pl.coalesce("_fam", "famille_id").alias("famille_id"),
        pl.when(pl.col("_fam").is_not_null()).then(pl.lit(role)).otherwise(pl.col("famille_role"))
        .alias("famille_role"),
        *[pl.when(pl.col("_men").is_not_null()).then(pl.col(n)).otherwise(pl.col(c)).alias(c)
          for n, c in (("_men", "menage_id"), ("_mrole", "menage_role"), ("_msrc", "menage__source"),
                       ("_mdate", "menage__date"))])
        .drop("_fam", "_men", "_mrole", "_msrc", "_mdate"))


def reconcile(lf: Mapping[str, pl.LazyFrame], ids: pl.DataFrame, month: dt.date, window: int,
              config: CoreConfig, age: pl.DataFrame, dwellings: pl.DataFrame | None = None,
              missing: pl.DataFrame | None = None) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Units of every person of ``ids`` on ``month``: (person_id, famille_id/_role, foyer_fiscal_id/_role,
    menage_id/_role, famille_listed_by: the agency whose membership row puts the person in the famille, null for
    a member the core added or a famille it built; grown_child_of: the agency whose dossier lists the person as a
    child at the age limit or above, who heads a famille of their own here), the conflicts counted by kind, and
    per unit the agency and extract date its composition comes from (``entity``, ``id``, ``source_agency``,
    ``extract_date``). ``age``: (person_id, age); ``dwellings``, ``missing``: ``dgfip_dwellings`` and
    ``declarant_missing`` when the caller has them already."""
    conflicts: dict[str, int] = {}
    first = month_range(month, window)[0]
    if "unit_memberships" in lf:
        members = (lf["unit_memberships"].filter(valid_on(month))
                   .select("person_id", pl.col("unit_kind").cast(pl.String), "unit_id",
                           pl.col("role").cast(pl.String), "valid_from", pl.col("source_agency").cast(pl.String),
                           "extract_date")
                   .collect())
    else:
        members = pl.DataFrame(schema={"person_id": pl.String, "unit_kind": pl.String, "unit_id": pl.String,
                                       "role": pl.String, "valid_from": pl.Date, "source_agency": pl.String,
                                       "extract_date": pl.Date})
    if "benefits_paid" in lf:
        # the window's payers, read once: of a famille (its unit), and of a person's own payment (the ASPA: the
        # payer assessed the payee's household as it lists it)
        window = (lf["benefits_paid"].filter((pl.col("month") >= first) & (pl.col("month") <= month)
                                             & ((pl.col("unit_kind") == "famille") | pl.col("person_id").is_not_null()))
                  .select(pl.col("paying_agency").cast(pl.String).alias("source_agency"), "unit_kind", "unit_id",
                          "person_id").unique().collect())
        payers = (window.filter(pl.col("unit_kind") == "famille").select("source_agency", "unit_id").unique()
                  .with_columns(pl.lit(True).alias("_paid")))
        payees = (window.filter(pl.col("unit_kind").is_null() & pl.col("person_id").is_not_null())
                  .select("person_id", "source_agency").unique())
    else:
        payers = pl.DataFrame(schema={"source_agency": pl.String, "unit_id": pl.String, "_paid": pl.Boolean})
        payees = pl.DataFrame(schema={"person_id": pl.String, "source_agency": pl.String})
    members, superseded = _latest_composition(members, month)
    chosen, conflicts = _choose(members, payers, config)
    conflicts["membership_superseded_by_later_extract"] = superseded
    # Unit ids are agency-local: qualify them by agency so two agencies' "F1" never merge.
    chosen = chosen.with_columns(
        pl.when(pl.col("unit_kind") == "foyer_fiscal").then(pl.col("unit_id"))
        .otherwise(qualified("source_agency", "unit_id")).alias("uid"))
    # A unit is kept whole: its members are those who chose that (agency, unit) for that kind.
    wide = ids.select("person_id")
    for kind in ("famille", "foyer_fiscal", "menage"):
        k = chosen.filter(pl.col("unit_kind") == kind).select(
            "person_id", pl.col("uid").alias(f"{kind}_id"), pl.col("role").alias(f"{kind}_role"),
            pl.col("source_agency").alias(f"{kind}__source"), pl.col("extract_date").alias(f"{kind}__date"))
        wide = wide.join(k, on="person_id", how="left")

    # A child an agency still lists at the age limit of every benefit's dependants or above (25: CASF R262-3, CSS
    # D843-1 and R861-2; the family benefits stop earlier) is no child of the famille for any benefit: an adult of
    # their own famille, hosted in the ménage (a son who turned 25 in his father's CAF dossier was left out of the
    # father's RSA and given none of his own: found on a hand-written territory, 5 December 2026).
    limit = default_parameters().bind("minima_sociaux.rsa.age_pac", month).value
    grown = (wide.filter(pl.col("famille_role") == "enfant").join(age, on="person_id", how="inner")
             .filter(pl.col("age") >= limit).get_column("person_id"))
    conflicts["adult_child_left_famille"] = grown.len()
    wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias("grown_child_of"))
    if grown.len():
        out = pl.col("person_id").is_in(grown.implode())
        # the agency listing them as a child: it knows them, only not as the head of a famille
        wide = wide.with_columns(pl.when(out).then(pl.col("famille__source").cast(pl.String)).alias("grown_child_of"))
        wide = wide.with_columns(
            *[pl.when(out).then(None).otherwise(pl.col(c)).alias(c)
              for c in ("famille_id", "famille_role", "famille__source", "famille__date")],
            pl.when(out & (pl.col("menage_role") == "enfant")).then(pl.lit("autre")).otherwise(pl.col("menage_role"))
            .alias("menage_role"))

    # 3. The DGFiP foyer fills what the family agencies do not list.
    decl = wide.filter(pl.col("foyer_fiscal_role") == "declarant").select(
        "person_id", "foyer_fiscal_id", "famille_id", "famille_role", "menage_id")
    pairs = decl.join(decl, on="foyer_fiscal_id", suffix="_o").filter(pl.col("person_id") != pl.col("person_id_o"))
    # the co-declarant fills the parent role the famille lacks: its conjoint, or its demandeur when the
    # agency's row of the allocataire was lost (a famille listing a conjoint only)
    parents = (wide.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
               .group_by("famille_id").agg(pl.col("famille_role").unique().alias("_roles")))
    # an agency recording its allocataire's recent isolation knows the separation (after the declared year: CGI
    # art. 6, 5): the co-declarant of last year's joint declaration is an ex-partner, never added (found on a
    # hand-written territory, 5 December 2026: a woman separated in February got her ex-husband back, a certain
    # couple's PPA, her RSA majoré lost)
    isolated = _isolated(lf)
    spouse = (pairs.filter(pl.col("famille_id").is_null() & pl.col("famille_id_o").is_not_null()
                           & pl.col("famille_role_o").is_in(["demandeur", "conjoint"])
                           & ~pl.col("person_id_o").is_in(isolated.implode()))
              .join(parents, left_on="famille_id_o", right_on="famille_id", how="inner")
              .filter(pl.col("_roles").list.len() == 1)
              .unique(subset=["famille_id_o"], keep="first")
              .unique(subset=["person_id"], keep="first")
              .select("person_id", pl.col("famille_id_o").alias("_fam"), pl.col("menage_id_o").alias("_men"),
                      pl.when(pl.col("famille_role_o") == "demandeur").then(pl.lit("conjoint"))
                      .otherwise(pl.lit("demandeur")).alias("_role")))
    conflicts["spouse_added_from_tax_household"] = spouse.height
    # A famille listing children only (the allocataire's row lost, no conjoint listed): the declarants no
    # family agency lists, of the foyer most of its children are dependants of, are its parents.
    no_parent = (wide.filter(pl.col("famille_id").is_not_null()).group_by("famille_id")
                 .agg(pl.col("famille_role").is_in(["demandeur", "conjoint"]).any().alias("_p"))
                 .filter(~pl.col("_p")))
    their_foyer = (wide.join(no_parent, on="famille_id", how="semi")
                   .filter((pl.col("foyer_fiscal_role") == "personne_a_charge")
                           & pl.col("foyer_fiscal_id").is_not_null())
                   .group_by("famille_id", "foyer_fiscal_id")
                   .agg(pl.len().alias("_k"), pl.col("menage_id").drop_nulls().first().alias("_men"))
                   .sort(["famille_id", "_k", "foyer_fiscal_id"], descending=[False, True, False])
                   .unique(subset=["famille_id"], keep="first"))
    parent = (decl.filter(pl.col("famille_id").is_null()).select("person_id", "foyer_fiscal_id")
              .join(their_foyer.select(pl.col("famille_id").alias("_fam"), "foyer_fiscal_id", "_men"),
                    on="foyer_fiscal_id", how="inner")
              .join(spouse, on="person_id", how="anti")
              .sort("_fam", "person_id").unique(subset=["person_id"], keep="first")
              .with_columns(pl.when(pl.col("person_id") == pl.col("person_id").min().over("_fam"))
                            .then(pl.lit("demandeur")).otherwise(pl.lit("conjoint")).alias("_role"))
              .select("person_id", "_fam", "_men", "_role"))
    conflicts["parent_added_from_tax_household"] = parent.height
    spouse = pl.concat([spouse, parent], how="vertical_relaxed")
    wide = (wide.join(spouse, on="person_id", how="left").with_columns(
        pl.coalesce("famille_id", "_fam").alias("famille_id"),
        pl.coalesce("_role", "famille_role").alias("famille_role"),
        pl.when(pl.col("_fam").is_not_null() & pl.col("menage_id").is_null())
        .then(pl.when(pl.col("_role") == "demandeur").then(pl.lit("personne_de_reference"))
              .otherwise(pl.lit("conjoint")))
        .otherwise(pl.col("menage_role")).alias("menage_role"),
        pl.coalesce("menage_id", "_men").alias("menage_id")).drop("_fam", "_men", "_role"))
    # Spouses of one joint declaration whom two agencies list in two familles, each missing the other partner:
    # one couple, in the famille of the payer (else of the first agency of the priority).
    paid = payers.select(qualified("source_agency", "unit_id").alias("famille_id")).unique()
    split = _split_couples(wide, paid, config, isolated)
    conflicts["couple_joined_across_agencies"] = split.height
    for role in ("demandeur", "conjoint"):
        wide = _join_adults(wide, split.filter(pl.col("_role") == role).drop("_role"), role)
    # Spouses of one joint declaration whom one or two pension funds list in two files, each alone (a file per
    # retiree's pension, nothing paid): one couple, in the first declarant's file (else the smaller id's).
    if dwellings is None:
        dwellings = dgfip_dwellings(lf, month)
    files = _pension_file_couples(wide, paid, payees, config, isolated, dwellings, members,
                                  _retirees(lf, month, config.pension_files_if_retired))
    conflicts["couple_joined_within_agency"] = files.filter(~pl.col("_across")).height
    conflicts["couple_joined_across_pension_funds"] = files.filter(pl.col("_across")).height
    wide = _join_adults(wide, files.drop("_across"), "conjoint")
    # A famille listing its conjoint but no demandeur (the allocataire's row lost) whose demandeur the DGFiP
    # knows alone on a declaration: that declarant joins it as its demandeur, in its ménage.
    lost = _lost_demandeurs(wide, age, dwellings, config.partner_age_gap)
    conflicts["demandeur_added_from_tax_household"] = lost.height
    wide = _join_adults(wide, lost, "demandeur")
    # A lone parent a family agency follows whose children the DGFiP declares on a joint declaration missing its
    # other declarant, the parent having none: that declaration's declarant is the parent's partner.
    if missing is None:
        missing = declarant_missing(lf, month, *config.rfr_unexplained)
    partners = _lost_partners(wide, age, missing, config.partner_age_gap)
    conflicts["partner_added_from_joint_declaration"] = partners.height
    wide = _join_adults(wide, partners, "conjoint")
    # Dependants: a minor joins a declarant's famille; an adult is hosted in the declarant's ménage.
    # A declarant no agency lists yet is the head of the famille step 4 builds for them (or for the couple
    # of two such declarants: the smaller id heads it), so the minor is never a famille of their own.
    host = (wide.filter(pl.col("foyer_fiscal_role") == "declarant")
            .sort(pl.col("famille_id").is_null(), "person_id").unique(subset=["foyer_fiscal_id"], keep="first")
            .select("foyer_fiscal_id",
                    pl.coalesce("famille_id", pl.lit("core-famille:") + pl.col("person_id")).alias("_fam"),
                    pl.col("menage_id").alias("_men")))
    dep = (wide.filter((pl.col("foyer_fiscal_role") == "personne_a_charge") & pl.col("famille_id").is_null())
           .join(age, on="person_id", how="left").join(host, on="foyer_fiscal_id", how="inner")
           .select("person_id", "_fam", "_men", (pl.col("age").fill_null(0) < 18).alias("_minor")))
    conflicts["dependant_added_from_tax_household"] = dep.height
    wide = (wide.join(dep, on="person_id", how="left").with_columns(
        pl.when(pl.col("_minor")).then(pl.col("_fam")).otherwise(pl.col("famille_id")).alias("famille_id"),
        pl.when(pl.col("_minor")).then(pl.lit("enfant")).otherwise(pl.col("famille_role")).alias("famille_role"),
        pl.when(pl.col("_men").is_not_null() & pl.col("menage_id").is_null())
        .then(pl.when(pl.col("_minor")).then(pl.lit("enfant")).otherwise(pl.lit("autre")))
        .otherwise(pl.col("menage_role")).alias("menage_role"),
        pl.coalesce("menage_id", "_men").alias("menage_id")).drop("_fam", "_men", "_minor"))

    # Two declarants of one foyer whom no family agency lists: a couple, in a famille built for them.
    lone = (wide.filter((pl.col("foyer_fiscal_role") == "declarant") & pl.col("famille_id").is_null())
            .group_by("foyer_fiscal_id").agg(pl.col("person_id").min().alias("_head"), pl.len().alias("_n"))
            .filter(pl.col("_n") == 2))
    conflicts["couple_built_from_tax_household"] = lone.height
    wide = (wide.join(lone.select("foyer_fiscal_id", "_head"), on="foyer_fiscal_id", how="left")
            .with_columns(pl.when(pl.col("famille_id").is_null() & pl.col("_head").is_not_null()
                                  & (pl.col("foyer_fiscal_role") == "declarant"))
                          .then(pl.struct(f=pl.lit("core-famille:") + pl.col("_head"),
                                          r=pl.when(pl.col("person_id") == pl.col("_head")).then(pl.lit("demandeur"))
                                          .otherwise(pl.lit("conjoint"))))
                          .alias("_couple"))
            .with_columns(pl.coalesce("famille_id", pl.col("_couple").struct.field("f")).alias("famille_id"),
                          pl.coalesce("famille_role", pl.col("_couple").struct.field("r")).alias("famille_role"))
            .drop("_head", "_couple"))
    # 4. Units of one's own for everyone else; a minor's is a child's famille without a parent (below): a child
    # only the health insurer lists (a newborn the CAF has not added yet) is nobody's claimant
    built_f = pl.col("famille_id").is_null()
    wide = wide.join(age.select("person_id", (pl.col("age") < 18).alias("_minor")), on="person_id", how="left")
    conflicts["famille_built"] = wide.filter(built_f).height
    conflicts["minor_in_no_famille"] = wide.filter(built_f & pl.col("_minor").fill_null(False)).height
    wide = wide.with_columns(
        pl.when(built_f).then(pl.lit("core-famille:") + pl.col("person_id")).otherwise(pl.col("famille_id"))
        .alias("famille_id"),
        pl.when(built_f).then(pl.when(pl.col("_minor").fill_null(False)).then(pl.lit("enfant"))
                              .otherwise(pl.lit("demandeur"))).otherwise(pl.col("famille_role")).alias("famille_role"),
        pl.when(built_f).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("famille__source"))
        .alias("famille__source"))
    # a famille of children whose parents no source shows: its members are evaluated in no famille (counted)
    orphans = (wide.group_by("famille_id")
               .agg(pl.col("famille_role").is_in(["demandeur", "conjoint"]).any().alias("_p"), pl.len().alias("_n"))
               .filter(~pl.col("_p")))
    conflicts["famille_without_parent"] = orphans.height
    conflicts["persons_in_famille_without_parent"] = int(orphans["_n"].sum())
    head_men = (wide.filter((pl.col("famille_role") == "demandeur") & pl.col("menage_id").is_not_null())
                .unique(subset=["famille_id"], keep="first").select("famille_id", pl.col("menage_id").alias("_men")))
    wide = wide.join(head_men, on="famille_id", how="left")
    built_m = pl.col("menage_id").is_null()
    conflicts["menage_built"] = wide.filter(built_m & pl.col("_men").is_null()
                                            & (pl.col("famille_role") == "demandeur")).height
    wide = wide.with_columns(
        pl.when(built_m).then(pl.col("famille_role").replace_strict(_MENAGE_ROLE_OF, default="autre"))
        .otherwise(pl.col("menage_role")).alias("menage_role"),
        pl.when(built_m).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("menage__source"))
        .alias("menage__source"),
        pl.when(built_m).then(pl.coalesce("_men", pl.lit("core-menage:") + pl.col("famille_id")))
        .otherwise(pl.col("menage_id")).alias("menage_id")).drop("_men")
    # a ménage built for a famille whose demandeur is hosted elsewhere keeps one reference person
    wide = wide.with_columns(
        pl.when(pl.col("menage_id").str.starts_with("core-menage:") & (pl.col("famille_role") == "demandeur"))
        .then(pl.lit("personne_de_reference")).otherwise(pl.col("menage_role")).alias("menage_role"))
    source = (pl.concat([
        wide.select(pl.lit(kind).alias("entity"), pl.col(f"{kind}_id").alias("id"),
                    pl.col(f"{kind}__source").alias("source_agency"),
                    pl.col(f"{kind}__date").alias("extract_date"))
        for kind in ("famille", "menage")], how="vertical_relaxed")
        # the unit's own agency (a member added from the DGFiP carries none)
        .sort(["source_agency", "extract_date"], descending=[False, True], nulls_last=True)
        .unique(subset=["entity", "id"], keep="first"))
    wide = wide.select("person_id", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_fiscal_role",
                       "menage_id", "menage_role", pl.col("famille__source").alias("famille_listed_by"),
                       "grown_child_of")
    return wide, conflicts, source


def dgfip_dwellings(lf: Mapping[str, pl.LazyFrame], month: dt.date) -> pl.DataFrame:
    """(person_id, ``_loc``): the latest dwelling the DGFiP declares each of its declarants in (the local of the
    foyer's main residence, ``identifiant_local``), qualified as the core qualifies ménage ids; dependants left
    out. Empty without memberships."""
    if "unit_memberships" not in lf:
        return pl.DataFrame(schema={"person_id": pl.String, "_loc": pl.String})
    return (lf["unit_memberships"]
            .filter(valid_on(month) & (pl.col("unit_kind").cast(pl.String) == "menage")
                    & (pl.col("source_agency").cast(pl.String) == "dgfip"))
            .select("person_id", pl.col("source_agency").cast(pl.String), "unit_id",
                    pl.col("role").cast(pl.String).alias("_role"), "valid_from", "extract_date")
            .collect()
            .sort(["valid_from", "extract_date", "unit_id"], descending=[True, True, False])
            .unique(subset=["person_id"], keep="first")
            .filter(pl.col("_role").is_in(HOUSEHOLDER_ROLES))
            .select("person_id", qualified("source_agency", "unit_id").alias("_loc")))


def declarant_missing(lf: Mapping[str, pl.LazyFrame], month: dt.date, margin: float, share: float) -> pl.DataFrame:
    """(person_id): the declarants whose foyer fiscal, in the latest income year the DGFiP sent for it, shows a
    second declarant the extract lacks while one only is there: the one there is the declaration's second
    (qualité DEC2: a joint declaration, CGI art. 6), or the foyer's revenu fiscal de référence exceeds what the
    declared incomes of its persons in the extract give (0.9 x earnings, unemployment and pensions, plus alimony
    and non-salaried income, a deficit read as 0; CGI art. 1417, IV) by more than ``margin``
    euros and ``share`` of the RFR (the 10 % deduction's floor and cap, capital and property income a person's
    rows do not carry)."""
    empty = pl.DataFrame(schema={"person_id": pl.String})
    if "unit_memberships" not in lf:
        return empty
    dgfip = (pl.col("source_agency").cast(pl.String) == "dgfip") & (pl.col("valid_from") <= month)
    mem = (lf["unit_memberships"].filter(dgfip)
           .select("person_id", pl.col("unit_kind").cast(pl.String), "unit_id", pl.col("role").cast(pl.String),
                   pl.col("valid_from").dt.year().cast(pl.Int32).alias("year")).collect())
    foy = mem.filter(pl.col("unit_kind") == "foyer_fiscal")
    latest = foy.group_by("unit_id").agg(pl.col("year").max())
    foy = foy.join(latest, on=["unit_id", "year"], how="semi")
    second = mem.filter((pl.col("unit_kind") == "menage") & (pl.col("role") == "conjoint")).select(
        "person_id", "year", pl.lit(True).alias("_dec2")).unique(["person_id", "year"])
    per = foy.join(second, on=["person_id", "year"], how="left")
    if "annual_income" in lf:
        income = (lf["annual_income"].select("person_id", pl.col("year").cast(pl.Int32), pl.col("kind").cast(pl.String),
                                             pl.col("amount").cast(pl.Float64)).collect()
                  .group_by("person_id", "year").agg(
                      # a deficit not deducted from the global income (a non-professional one: CGI art. 156 I 2°)
                      # leaves the RFR above the incomes less it: what the incomes explain is read without it (a
                      # lone declarant's BNC deficit made her « a joint declaration whose other declarant is
                      # missing », every flag possible: a tester's hand-written households, 6 December 2026)
                      (0.9 * pl.col("amount").filter(pl.col("kind").is_in(["salaries", "unemployment", "pensions"]))
                       .sum() + pl.col("amount").filter(pl.col("kind") == "alimony").sum()
                       + pl.col("amount").filter(pl.col("kind") == "self_employment").clip(lower_bound=0.0).sum())
                      .alias("_net")))
        per = per.join(income, on=["person_id", "year"], how="left")
    else:
        per = per.with_columns(pl.lit(None, dtype=pl.Float64).alias("_net"))
    sums = per.group_by("unit_id", "year").agg(
        (pl.col("role") == "declarant").sum().alias("_declarants"), pl.col("_dec2").fill_null(False).any(),
        # a deficit lowers the foyer's income, never below 0: no RFR is negative (CGI art. 156 I, 1417 IV), and
        # a lone declarant's deficit read as « an RFR above her income » made her half of a couple (found probing
        # extracts written from the docs alone, 5 December 2026: a self-employed woman's RSA fell to possible)
        pl.col("_net").fill_null(0.0).sum().clip(lower_bound=0.0))
    if "tax_households" in lf:
        rfr = (lf["tax_households"].filter(pl.col("source_agency").cast(pl.String) == "dgfip")
               .select("unit_id", pl.col("year").cast(pl.Int32), pl.col("rfr").cast(pl.Float64)).collect()
               .unique(["unit_id", "year"]))
        sums = sums.join(rfr, on=["unit_id", "year"], how="left")
    else:
        sums = sums.with_columns(pl.lit(None, dtype=pl.Float64).alias("rfr"))
    gap = pl.col("rfr") - pl.col("_net")
    missing = sums.filter((pl.col("_declarants") == 1)
                          & (pl.col("_dec2") | ((gap > margin) & (gap > share * pl.col("rfr"))).fill_null(False)))
    return (per.filter(pl.col("role") == "declarant").join(missing, on=["unit_id", "year"], how="semi")
            .select("person_id").unique())


def shared_dwellings(lf: Mapping[str, pl.LazyFrame], ind: pl.DataFrame, month: dt.date,
                     dwellings: pl.DataFrame | None = None, *, own_menage: bool = False) -> pl.DataFrame:
    """Familles whose adults the DGFiP declares in a dwelling (its local) where adults of another famille are
    declared too, while the core's ménage of the famille is not that dwelling (a family agency's dossier):
    ``famille_id``, ``own_adults`` (its adults declared there) and ``other_adults`` (the most adults one other
    famille declares there). ``own_menage``: the familles whose core ménage is that dwelling too (a ménage the
    core built from the DGFiP's local, whose housing no agency describes).

    Why: the aid of CCH L822-1ff goes to the household holding the lease. A family agency's housing record
    says what its allocataire declared, but a dwelling the DGFiP shows shared with another foyer fiscal may be
    the other foyer's lease: the allocataire may be hosted or a co-tenant. ``ind``: the core's persons with
    famille_id, famille_role and menage_id; ``dwellings``: ``dgfip_dwellings`` when the caller has it already."""
    empty = pl.DataFrame(schema={"famille_id": pl.String, "own_adults": pl.UInt32, "other_adults": pl.UInt32})
    if "unit_memberships" not in lf:
        return empty
    loc = dgfip_dwellings(lf, month) if dwellings is None else dwellings  # a dependant is no candidate for the lease
    adults = (ind.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
              .select("person_id", "famille_id", "menage_id").join(loc, on="person_id", how="inner"))
    per = adults.group_by("_loc", "famille_id").agg(pl.len().alias("own_adults"),
                                                     (pl.col("menage_id") == pl.col("_loc")).any().alias("_same"))
    other = per.join(per.select("_loc", pl.col("famille_id").alias("_o"), pl.col("own_adults").alias("_n")),
                     on="_loc").filter(pl.col("_o") != pl.col("famille_id"))
    return (other.filter(pl.lit(own_menage) | ~pl.col("_same"))
            .group_by("famille_id").agg(pl.col("own_adults").max(), pl.col("_n").max().alias("other_adults"))
            .select(list(empty.columns)).cast(empty.schema))

