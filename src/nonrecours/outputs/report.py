"""``report.html``: what a run found, for the people who decide, in one self-contained French page.

The report reads the tables the run already wrote and nothing else: ``outputs/YYYY-MM/statistics.parquet``
(rates, amounts, grades, coherence: under statistical secrecy), the answers (``answer1..3``), detection's
``summary.json`` (flags by grade, source conflicts, exclusions), the rules stage's ``parameters-YYYY-MM.json``
and the ingest reports (``workspace/reports/*.json``: quarantine). It never recomputes a figure: every number
shown is a cell of one of those tables, formatted in French (babel). Counts the statistics would not publish
stay secret here too: a secret cell is shown as secret, and the answers' whole-extract counts of a benefit
are shown only when the statistics publish that benefit's whole-extract cell.

Self-contained and offline: charts are matplotlib figures rendered to inline SVG (glyphs as paths, no font
file, no link), styles and the small table-sorting script are inline, so the file opens from a USB stick on
a machine without network. Rendering is deterministic (fixed SVG id salt, no dates), so a rerun writes the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import write_text
from nonrecours.core.resources import CoreConfig
from nonrecours.detection.reasons import input_labels
from nonrecours.detection.targets import cash
from nonrecours.outputs.answers import SCENARIOS
from nonrecours.outputs.law import BENEFIT_LABELS, TARGET_BENEFITS
from nonrecours.outputs.statistics import StatisticsConfig, published_benefits
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import AGENCY_LABELS, agency_of

__all__ = ["REPORT", "build_report", "rules_version", "write_report"]

REPORT = "report.html"
LOCALE = "fr_FR"
SECRET_MARK = "s"
"""What a secret cell shows (with the title « secret statistique »)."""
UNDEFINED_MARK = "—"

LEVEL_LABELS = {"total": "ensemble du fichier", "departement": "département", "epci": "EPCI", "commune": "commune"}
GRADE_LABELS = {"certain": "certain", "probable": "probable", "possible": "possible"}
SHORT_BENEFITS = {b.code: b.short[:1].upper() + b.short[1:] for b in CATALOGUE}

# What summary.json's counts mean, in French; a key not listed is shown as it is written.
CONFLICT_LABELS = {
    "couple_built_from_tax_household": "couples reconstitués à partir du foyer fiscal",
    "dependant_added_from_tax_household": "personnes à charge ajoutées d'après le foyer fiscal",
    "spouse_added_from_tax_household": "conjoints ajoutés d'après le foyer fiscal",
    "parent_added_from_tax_household": "parents ajoutés d'après le foyer fiscal (famille d'enfants seuls)",
    "demandeur_added_from_tax_household": "allocataires manquant au dossier retrouvés à la DGFiP (par un enfant à "
                                          "charge ou le logement du conjoint)",
    "couple_joined_across_agencies": "couples d'une déclaration commune que deux organismes listent chacun sans "
                                     "l'autre conjoint, réunis",
    "couple_joined_within_agency": "couples d'une déclaration commune qu'une caisse de retraite liste dans deux "
                                   "dossiers, chacun seul et sans prestation versée, réunis",
    "couple_joined_across_pension_funds": "couples d'une déclaration commune que deux caisses de retraite (MSA et "
                                          "CNAV) listent chacune seul, sans prestation versée, réunis",
    "partner_added_from_joint_declaration": "conjoints de parents suivis seuls retrouvés à la DGFiP (déclaration "
                                            "commune de leurs enfants dont l'autre déclarant manque)",
    "famille_without_parent": "familles d'enfants sans parent connu (évaluées dans aucune famille)",
    "persons_in_famille_without_parent": "personnes de ces familles sans parent connu",
    "famille_built": "familles reconstituées (aucun organisme ne les décrit)",
    "membership_superseded_by_later_extract": "rattachements à un dossier qu'un extrait plus récent du même organisme "
                                              "ne liste plus (le membre a quitté le dossier)",
    "minor_in_no_famille": "mineurs qu'aucun organisme ne rattache à une famille (un nouveau-né que seule l'assurance "
                           "maladie liste) : allocataires de personne, non évalués",
    "adult_child_left_famille": "enfants d'un dossier âgés de 25 ans ou plus, évalués dans leur propre famille",
    "famille_composition_differs": "familles dont la composition diffère selon les sources",
    "famille_role_differs": "familles où un rôle diffère selon les sources",
    "famille_in_two_dossiers": "personnes qu'un organisme liste dans deux de ses dossiers ce mois (une garde "
                               "alternée ?) : évaluées dans un seul",
    "foyer_fiscal_composition_differs": "foyers fiscaux dont la composition diffère selon les sources",
    "foyer_fiscal_role_differs": "foyers fiscaux où un rôle diffère selon les sources",
    "menage_built": "ménages reconstitués",
    "menage_composition_differs": "ménages dont la composition diffère selon les sources",
    "menage_role_differs": "ménages où un rôle diffère selon les sources",
}
CORE_LABELS = {
    "persons": "personnes évaluées", "familles": "familles", "menages": "ménages",
    "clusters": "groupes de foyers liés", "familles_built": "familles reconstituées",
    "familles_stale_composition": "familles à la composition périmée",
    "menages_housing_unknown": "ménages dont le logement est inconnu",
    "persons_not_born_yet": "personnes pas encore nées ce mois",
    "persons_without_person_row": "personnes sans fiche d'identité (connues par un lien seulement)",
    "provenance_rows": "valeurs tracées (provenance)", "unknowns_rows": "valeurs inconnues tracées",
    "persons_known": "personnes connues des organismes",
    "persons_rate_unknown_in_famille_paid_aah": "personnes que l'extrait du payeur de l'AAH ne liste pas, dans une "
                                                "famille à qui il verse l'AAH (taux d'incapacité inconnu)",
    "familles_without_demandeur": "familles sans demandeur",
    "familles_of_adult_dependant": "familles reconstituées d'un jeune adulte à charge fiscale (composition inconnue)",
    "familles_hosting_adult_dependant": "familles dont un jeune adulte à charge fiscale manque peut-être",
    "familles_single_from_dwelling": "personnes seules d'après le logement déclaré à la DGFiP (estimation)",
    "familles_single_sharing_dwelling": "personnes suivies seules dont le logement DGFiP abrite un autre adulte seul "
                                        "(vie en couple inconnue)",
    "familles_single_sharing_dwelling_colocataires": "personnes suivies seules en colocation déclarée à leur "
                                                     "organisme avec un autre dossier seul du logement DGFiP (vie "
                                                     "en couple non soupçonnée)",
    "familles_single_dwelling_adult_unidentified": "personnes seules dont le logement DGFiP abrite un adulte au NIR "
                                                   "inutilisable (vie en couple inconnue)",
    "familles_declarant_missing": "déclarations communes dont l'autre déclarant manque à l'extrait (vie en couple "
                                  "inconnue)",
    "familles_single_joint_declaration": "personnes suivies seules, déclarant d'une imposition commune dont l'autre "
                                         "déclarant manque à l'extrait DGFiP (vie en couple inconnue)",
    "familles_adult_line_quarantined": "dossiers suivis sans conjoint dont une ligne d'adulte a été écartée à "
                                       "l'intégration (NIR inutilisable : vie en couple inconnue)",
    "familles_shared_dwelling_hosted_estimated": "familles hébergées dans le logement d'une autre (estimation DGFiP)",
    "familles_hosting_unknown_hosted_estimated": "familles au logement inconnu, hébergées dans le logement d'un foyer "
                                                 "comptant plus d'adultes (estimation DGFiP)",
    "familles_shared_dwelling_lease_unknown": "colocataires dont le titulaire du bail est inconnu",
    "familles_housing_aid_not_hosted": "familles percevant une aide au logement, donc ni hébergées gratuitement ni "
                                       "propriétaires sans emprunt (logement sinon inconnu ou estimé)",
    "persons_nationality_from_birth_place": "personnes sans nationalité transmise, estimées françaises car nées en "
                                            "France (NIR)",
    "persons_residence_vetted_by_payment": "personnes à la durée de titre de séjour inconnue, payées de l'ASPA ou "
                                           "de l'ASI : la condition de séjour, vérifiée par l'organisme payeur, est "
                                           "tenue pour remplie",
    "persons_not_student_from_age": "personnes sans situation d'études transmise, estimées non étudiantes par l'âge",
    "persons_birth_month_unknown": "personnes dont aucun organisme ne transmet le mois de naissance, l'année seule "
                                   "(âge pris sur une fourchette)",
    "persons_nationality_differs": "personnes dont deux organismes transmettent des nationalités différentes (celle "
                                   "de l'organisme préféré est lue)",
    "persons_sex_differs": "personnes dont deux organismes transmettent des sexes différents",
    "persons_birth_month_differs": "personnes dont deux organismes transmettent des mois de naissance différents",
    "persons_commune_differs": "personnes dont deux organismes transmettent des communes différentes (un "
                               "déménagement que l'un n'a pas vu ?)",
    "persons_not_pregnant_from_age": "femmes sans grossesse transmise, non enceintes par l'âge (moins de {} ans, "
                                     "{} ans ou plus)".format(*CoreConfig().pregnancy_ages),
    "persons_no_alimony_from_age": "personnes sans pension alimentaire déclarée, estimées sans pension par l'âge",
    "persons_no_invalidity_pension_from_age": "personnes sans pension d'invalidité déclarée, sans pension par l'âge "
                                              "(elle prend fin au plus tard à 67 ans, CSS art. L341-15 et L341-16)",
    "menages_colocation": "ménages en colocation (part du loyer d'un colocataire)",
    "menages_colocation_unknown": "ménages dont la colocation est inconnue",
    "menages_chambre": "ménages locataires d'une chambre",
    "menages_chambre_unknown": "ménages dont la location d'une chambre est inconnue",
    "menages_accession_loan_before_2018": "accédants dont le prêt, signé avant 2018, ouvre l'aide au logement",
    "menages_accession_loan_date_unknown": "accédants dont la date de signature du prêt est inconnue",
    "menages_accession_loan_2018_2019_zone_3": "accédants dont le prêt de 2018-2019 en zone 3 ouvre peut-être l'aide "
                                               "(prêt conventionné, logement ancien)",
}
EXCLUSION_LABELS = {
    "opt_out": "opposition de la personne", "pending_claim": "demande en cours",
    "recent_refusal": "refus récent", "recent_closure": "droit clos récemment",
    "deceased_or_gone": "décès ou départ du territoire",
}
QUARANTINE_LABELS = {
    "missing NIR": "NIR absent",
    "NIR with characters other than digits (or 2A/2B)": "NIR avec d'autres caractères que des chiffres (ou 2A/2B)",
    "NIR of the wrong length": "NIR de longueur incorrecte",
    "invalid NIR check key": "clé de contrôle du NIR invalide",
    "NIR with an invalid first digit": "NIR au premier chiffre invalide",
    "NIR with an invalid birth month": "NIR au mois de naissance invalide",
    "unusable NIR": "NIR inutilisable",
    "missing value": "valeur absente", "not an amount": "pas un montant",
    "amount with more than two decimals": "montant à plus de deux décimales",
    "amount out of range": "montant hors limites", "not a number": "pas un nombre",
    "not an integer": "pas un entier", "not a year": "pas une année", "unknown code": "code inconnu",
    "negative amount": "montant négatif", "negative number": "nombre négatif",
    "date before 1900": "date antérieure à 1900",
    "birth date after the extract date": "date de naissance postérieure à la date de l'extrait",
    "date more than a year after the extract date": "date plus d'un an après la date de l'extrait",
    "year outside 1900 to the extract's year": "année hors de 1900 à l'année de l'extrait",
    "blank line": "ligne vide", "misplaced or unclosed quote in a value": "guillemet mal placé ou non fermé",
    "line too long": "ligne trop longue", "unreadable line": "ligne illisible",
    "repeated header line": "ligne d'en-tête répétée",
    "carriage return inside the line": "retour chariot dans la ligne",
    "carriage return inside a value": "retour chariot dans une valeur",
    "noncharacter U+FFFF in the line (not text)": "non-caractère U+FFFF dans la ligne (pas du texte)",
    "record length": "longueur d'enregistrement incorrecte", "unknown record type": "type d'enregistrement inconnu",
}
"""The ingestion's quarantine reasons (connectors, in English in their reports) in French; patterns below."""
QUARANTINE_PATTERNS = (
    (r"^not a (date|month) in format (.+)$", lambda m: f"pas une {'date' if m[1] == 'date' else 'mois'} au "
                                                     f"format {m[2]}"),
    (r"^more than (\d+) years$", lambda m: f"plus de {m[1]} ans"),
    (r"^code not allowed in canonical column (.+)$", lambda m: f"code non admis pour la colonne {m[1]}"),
    (r"^value out of range for canonical column (\S+) \((.+)\)$",
     lambda m: f"valeur hors limites pour la colonne {m[1]} ({m[2]})"),
    (r"^no value for canonical column (.+)$", lambda m: f"aucune valeur pour la colonne {m[1]}"),
)


def quarantine_reason(key: str) -> str:
    """« colonne : motif » of an ingest report in French (the column as the agency names it); a reason this
    table does not know yet is shown as written, marked « (motif non traduit) »."""
    column, sep, reason = key.rpartition(": ")
    truncated = reason.endswith(" (truncated last line?)")
    reason = reason.removesuffix(" (truncated last line?)")
    text = QUARANTINE_LABELS.get(reason)
    if text is None:
        for pattern, render in QUARANTINE_PATTERNS:
            found = re.match(pattern, reason)
            if found:
                text = render(found)
                break
    text = (text or f"{reason} (motif non traduit)") + (" (dernière ligne tronquée ?)" if truncated else "")
    column = {"line": "ligne"}.get(column, column)
    return f"{column} : {text}" if sep else text


UNIT_LABELS = {"currency": "€", "rate": "", "count": "", "year": "ans", "hour": "h", "month": "mois",
               "smic_hours": "heures de SMIC"}


# --- French formatting (babel) -----------------------------------------------------------------------

@functools.cache
def _locale() -> Any:
    """``LOCALE`` parsed once: given a string, babel parses it again on every call, half of the formatting time
    of a report (a table row per statistics cell: 470,000 rows for 100,000 persons over France)."""
    from babel import Locale

    return Locale.parse(LOCALE)


def fmt_int(x: float | int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(int(x), locale=_locale())


def fr(n: float | int, one: str, other: str) -> str:
    """The French word for ``n`` things: ``one`` for 0 and 1 (CLDR's French plural rule), ``other`` above:
    « 1 famille vit », « 2 familles vivent » (the report wrote « 1 familles (1 personnes) vivent »)."""
    return one if _locale().plural_form(abs(int(n))) == "one" else other


def fmt_number(x: float, digits: int = 6) -> str:
    from babel.numbers import format_decimal

    return format_decimal(x, format="#,##0." + "#" * digits, locale=_locale())


def _half_up(x: float, places: int) -> Decimal | float:
    """``x`` rounded half away from zero to ``places`` decimals, from its shortest decimal text: babel rounds half
    to even, so 18.75 % printed 18,8 % and 6.25 % printed 6,2 % in one table (an outside tester, 6 December 2026)."""
    if not math.isfinite(x):
        return x
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fmt_pct(x: float) -> str:
    from babel.numbers import format_percent

    return format_percent(_half_up(x, 3), "#,##0.0\u00a0%", locale=_locale())


def fmt_eur(x: float, *, cents: bool = False) -> str:
    from babel.numbers import format_currency

    money = "#,##0.00\u00a0¤" if cents else "#,##0\u00a0¤"
    return format_currency(_half_up(x, 2 if cents else 0), "EUR", format=money, locale=_locale(),
                           currency_digits=False)


def fmt_points(x: float) -> str:
    """A difference of two rates (shares), in percentage points, signed with the minus sign (U+2212) and a plus:
    « −25,7 pts », not « -25,7 % », which reads as a relative change."""
    from babel.numbers import format_decimal

    text = format_decimal(_half_up(abs(x) * 100, 1), "#,##0.0", locale=_locale())
    sign = "" if text == "0,0" else "−" if x < 0 else "+"
    return f"{sign}{text} pts"


def fmt_eur_change(x: float) -> str:
    """A change of an amount in euros, signed with the minus sign (U+2212) or a plus: « −124 € », « +30 € »."""
    text = fmt_eur(abs(x))
    return text if text.startswith("0") else ("\u2212" if x < 0 else "+") + text


def fmt_tenth(x: float) -> str:
    """An estimated count, always to one decimal (« 2,0 » beside « 1,1 »: a weighted count, not a head count)."""
    from babel.numbers import format_decimal

    return format_decimal(_half_up(x, 1), format="#,##0.0", locale=_locale())


def fmt_pct_tick(x: float) -> str:
    from babel.numbers import format_percent

    return format_percent(_half_up(x, 2), "#,##0\u00a0%", locale=_locale())


def fmt_date(day: str | dt.date | None) -> str:
    """dd/mm/yyyy, as a French reader writes a date; ``—`` when there is none."""
    from babel.dates import format_date

    if not day:
        return UNDEFINED_MARK
    return format_date(dt.date.fromisoformat(day) if isinstance(day, str) else day, "dd/MM/y", locale=_locale())


def agency_label(code: str) -> str:
    """An agency's name (``schemas.codes.AGENCY_LABELS``); a source combining several (``caf,cnam``) names each."""
    return ", ".join(AGENCY_LABELS.get(a, a.upper()) for a in code.split(","))


def fmt_month(month: dt.date) -> str:
    from babel.dates import format_date

    return format_date(month, "MMMM y", locale=_locale())


def _months_said(months: Sequence[str]) -> str:
    """« mai 2026, juin 2026 » from the summary's ``YYYY-MM`` months."""
    return ", ".join(fmt_month(dt.date.fromisoformat(f"{m}-01")) for m in months)


FORMATS: dict[str, Callable[[Any], str]] = {"int": fmt_int, "pct": fmt_pct, "eur": fmt_eur, "num": fmt_number,
                                             "pts": fmt_points, "eur_change": fmt_eur_change, "tenth": fmt_tenth}


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown, the raw value (for sorting and checks), the column it comes from."""

    text: str
    value: Any = None
    col: str | None = None
    kind: str = ""  # "secret", "undefined" or ""
    numeric: bool = False


def cell(value: Any, fmt: str | None = None, *, col: str | None = None, secret: bool = False) -> Cell:
    if secret:
        return Cell(SECRET_MARK, None, col, "secret", fmt is not None)
    if value is None:
        return Cell(UNDEFINED_MARK, None, col, "undefined", fmt is not None)
    if fmt is None:
        return Cell(str(value), None, col)
    return Cell(FORMATS[fmt](value), value, col, "", True)


@dataclass(frozen=True)
class Table:
    """A table for the template: headers, rows of cells, row attributes (keys back to the source row)."""

    id: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    keys: Sequence[Mapping[str, str]] = ()
    sortable: bool = False
    caption: str = ""


# --- charts (matplotlib → inline SVG) ----------------------------------------------------------------

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
"""Okabe–Ito: told apart by readers with colour-vision deficiencies."""
HATCHES = ("", "///", "...", "xxx")
"""Patterns over the palette's colours once they are all used (a chart of the 14 benefits gave the RSA and the ASI
one colour, one legend entry each: only the pattern tells them apart)."""


def _style_of(k: int) -> dict[str, Any]:
    """Colour and pattern of the ``k``-th series of a chart."""
    hatch = HATCHES[(k // len(PALETTE)) % len(HATCHES)]
    return {"color": PALETTE[k % len(PALETTE)], **({"hatch": hatch, "edgecolor": "white", "linewidth": 0}
                                                   if hatch else {})}


def _svg(fig: Any, label: str) -> str:
    """The figure as an SVG element to inline: glyphs as paths, no XML prologue, no metadata, fixed ids."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "nonrecours-report", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
                    bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # Inline in HTML, the parser puts <svg> and xlink:href in their namespaces itself: the namespace URIs
    # (never fetched, but URLs all the same) are dropped so the page holds no address at all.
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)
    safe = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{safe}" ', 1).strip()


def _figure(height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, height), dpi=96)
    return fig, fig.add_subplot()


def _finish(fig: Any, ax: Any, *, title: str, xlabel: str, said: Sequence[str]) -> str:
    """Title, axis label and legend of a bar chart, then its SVG with the values said in text."""
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    if ax.get_legend_handles_labels()[1]:  # no bar drawn (every value secret): no legend
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    ax.margins(x=0.15)
    _style(ax)
    return _svg(fig, f"{title}. " + " ; ".join(said))


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _tick_formatter(fmt: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: fmt(x))


def range_chart(labels: Sequence[str], central: Sequence[float | None], low: Sequence[float | None],
                high: Sequence[float | None], *, fmt: Callable[[float], str], title: str, xlabel: str) -> str:
    """Horizontal bars at the central estimate with the low–high range as a line; missing: « secret »."""
    fig, ax = _figure(0.45 * len(labels) + 1.2)
    y = list(range(len(labels)))[::-1]
    said = []
    for label, yi, c, lo, hi in zip(labels, y, central, low, high, strict=True):
        if c is None:
            ax.text(0, yi, " secret ou non défini", va="center", fontsize=9, color="#666666")
            said.append(f"{label} : secret ou non défini")
            continue
        said.append(f"{label} : {fmt(c)}" + (f" (de {fmt(lo)} à {fmt(hi)})" if lo is not None and hi is not None
                                              else ""))
        ax.barh(yi, c, color=PALETTE[0], height=0.6)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [yi, yi], color="#222222", linewidth=1.5)
            ax.plot([lo, lo], [yi - 0.15, yi + 0.15], color="#222222", linewidth=1.5)
            ax.plot([hi, hi], [yi - 0.15, yi + 0.15], color="#222222", linewidth=1.5)
        ax.text(hi if hi is not None else c, yi, "  " + fmt(c), va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(_tick_formatter(fmt_pct_tick if fmt is fmt_pct else fmt))
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.margins(x=0.25)
    _style(ax)
    return _svg(fig, f"{title}. " + " ; ".join(said))


def stacked_chart(labels: Sequence[str], parts: Mapping[str, Sequence[float | None]], *, title: str,
                  xlabel: str, fmt: Callable[[float], str] = fmt_int) -> str:
    """Horizontal stacked bars (one segment per part); a row with a missing part is marked « secret »."""
    fig, ax = _figure(0.45 * len(labels) + 1.4)
    y = list(range(len(labels)))[::-1]
    left = [0.0] * len(labels)
    hidden = [any(v[i] is None for v in parts.values()) for i in range(len(labels))]
    for k, (name, values) in enumerate(parts.items()):
        widths = [0.0 if hidden[i] else float(v or 0) for i, v in enumerate(values)]
        ax.barh(y, widths, left=left, height=0.6, label=name, **_style_of(k))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    said = []
    for i, (yi, h, total) in enumerate(zip(y, hidden, left, strict=True)):
        ax.text(total, yi, " secret" if h else "  " + fmt(total), va="center", fontsize=9)
        said.append(f"{labels[i]} : secret" if h else f"{labels[i]} : "
                    + ", ".join(f"{name} {fmt(float(v[i] or 0))}" for name, v in parts.items()))
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(_tick_formatter(fmt))
    return _finish(fig, ax, title=title, xlabel=xlabel, said=said)


def grouped_chart(groups: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
                  xlabel: str, fmt: Callable[[float], str]) -> str:
    """Horizontal grouped bars: one group per label, one bar per series; a missing value is left out."""
    fig, ax = _figure(0.32 * len(groups) * max(1, len(series)) + 1.6)
    n = len(series)
    height = 0.8 / max(n, 1)
    base = list(range(len(groups)))[::-1]
    said = [f"{g}, {name} : " + (fmt(v) if v is not None else "omis") for name, values in series.items()
            for g, v in zip(groups, values, strict=True)]
    for k, (name, values) in enumerate(series.items()):
        ys = [b + 0.4 - height * (k + 0.5) for b in base]
        shown = [(yy, v) for yy, v in zip(ys, values, strict=True) if v is not None]
        # a series with no bar has no legend entry (an empty one was drawn in matplotlib's default colour)
        ax.barh([s[0] for s in shown], [s[1] for s in shown], height=height * 0.9,
                label=name if shown else "_nolegend_", **_style_of(k))
        for yy, v in shown:
            ax.text(v, yy, " " + fmt(v), va="center", fontsize=8)
    ax.set_yticks(base, groups)
    ax.xaxis.set_major_formatter(_tick_formatter(fmt_pct_tick if fmt is fmt_pct else fmt))
    return _finish(fig, ax, title=title, xlabel=xlabel, said=said)


# --- reading what the run wrote ------------------------------------------------------------------------

def _read(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path.exists() else None


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def rules_version() -> str:
    """The package version and a digest of the rules as shipped (every rule module and parameter file):
    two runs with the same digest applied the same law."""
    from nonrecours import __version__

    root = resources.files("nonrecours.rules")
    h = hashlib.sha256()

    def walk(node: Any, prefix: str) -> Iterable[tuple[str, Any]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    yield from walk(child, name + "/")
            elif child.name.endswith((".py", ".yaml", ".yml")):
                yield name, child

    for name, file in walk(root, ""):
        h.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return f"nonrecours {__version__}, règles {h.hexdigest()[:16]}"


NOT_MODELLED: dict[str, tuple[str, str]] = {
    "rsa": ("1d6b731bd75a", "le RSA jeune actif (moins de 25 ans ayant travaillé deux ans), les plafonds de chiffre "
                            "d'affaires des travailleurs indépendants et l'évaluation de leurs revenus par le "
                            "département (CASF art. L262-7, R262-23), les revenus du capital, la neutralisation des "
                            "ressources interrompues au-delà de la règle de l'article R262-13 du CASF, Mayotte."),
    "ppa": ("99fefba72e78", "le plancher propre aux apprentis, les revenus du capital, l'allocation "
                            "supplémentaire d'invalidité (ASI)."),
    "aspa": ("befef98328ee", "les revenus du capital et le patrimoine, la récupération sur succession, la dispense des "
                     "dix ans de titre du titulaire d'une carte de résident ayant combattu pour la France (CSS "
                     "art. L816-1)."),
    "css": ("5446b05c3630", "Mayotte, les montants de participation propres à l'Alsace-Moselle, la CSS des "
                            "étudiants en leur nom propre, les revenus du capital ; de l'abattement de l'art. "
                            "R861-8, les cas sans donnée d'entrée (allocation d'activité partielle, allocation "
                            "d'insertion)."),
    "aide_logement": ("d193ad606287", "la chambre d'une personne âgée ou handicapée accueillie à titre onéreux "
                                      "chez un particulier (75 %, art. 8 de l'arrêté), les logements du Crous, les "
                                      "boursiers, l'APL des prêts conventionnés en accession et les prêts de "
                                      "2018-2019 pour un logement « ancien » en zone 3 (aucun extrait n'indique la "
                                      "nature du prêt ni l'état du logement : une telle date est tenue pour "
                                      "inconnue), les revenus du capital et le "
                                      "patrimoine, les demandeurs d'emploi non indemnisés (aucune donnée ne les "
                                      "distingue des inactifs), le congé parental, Saint-Pierre-et-Miquelon et "
                                      "Mayotte, l'abattement spécial de l'article 157 bis du CGI pour les "
                                      "invalides (aucune donnée ne dit qui détient une carte d'invalidité ; celui "
                                      "des personnes nées avant 1931 est déduit), l'exonération de la dégressivité "
                                      "des loyers élevés au titre de l'AEEH (aucune donnée ne la porte ; celle de "
                                      "l'AAH est appliquée), les ascendants à charge (aucune donnée ne dit qui est "
                                      "l'ascendant de qui)."),
    "aah": ("4c14937f60b8", "l'option transitoire du décret n° 2022-1694, la réduction après soixante jours "
                            "d'hospitalisation, d'hébergement en établissement spécialisé ou de détention (CSS "
                            "art. R821-8), la décision de la CDAPH elle-même (le taux d'incapacité est une "
                            "donnée transmise), les revenus du capital."),
    "asi": ("090d09dd0cbf", "les retraités invalides (ASI après une pension de retraite anticipée), les revenus du "
                            "capital et le patrimoine."),
    "prestations_familiales": ("5579a7da89df", "les enfants confiés à l'aide sociale à l'enfance, la résidence "
                                               "alternée (allocations partagées entre les parents), les "
                                               "prestations familiales de Mayotte, les revenus du capital."),
    "paje": ("335f1a47054d", "l'adoption (allocation versée trois ans à compter de l'adoption), la prime à la "
                             "naissance, la PreParE et le complément de libre choix du mode de garde, les "
                             "naissances multiples (une allocation par enfant né en même temps, CSS art. L531-3), "
                             "Mayotte, les revenus du capital."),
    "asf": ("860c7e53b13a", "les orphelins de père et de mère et les enfants recueillis (taux plus élevé), la "
                            "pension alimentaire due mais non payée (l'ASF en fait alors l'avance, CSS art. "
                            "L581-2), l'ASF provisoire de quatre mois avant la fixation d'une pension, Mayotte, "
                            "les revenus du capital."),
    "ars": ("896a0b48d502", "la scolarité ou l'apprentissage des enfants de seize à dix-huit ans (aucune donnée "
                            "ne le dit : tout enfant de cet âge compte), les enfants confiés à un tiers, les "
                            "revenus du capital."),
    "cheque_energie": ("8e357029eb4f", "les résidents d'un EHPAD ou d'un foyer-logement (ils le reçoivent par "
                                       "leur établissement), les ménages sans déclaration de revenus (pas de "
                                       "revenu fiscal de référence), les revenus du capital au-delà de ce que "
                                       "contient le revenu fiscal de référence de la DGFiP."),
}
"""Per benefit rule module: (digest of its English « Not modelled » paragraph, that paragraph in French). The
paragraph in the module is the source; the digest ties the translation to it (``english_not_modelled``: a
test fails when the module's paragraph changes and the translation was not updated)."""


def english_not_modelled(module: str) -> str:
    """The « Not modelled: » paragraph of a rule module's docstring, whitespace normalised."""
    from importlib import import_module

    doc = import_module(f"nonrecours.rules.benefits.{module}").__doc__ or ""
    found = re.search(r"Not modelled(?: \([^)]*\))?:(.*?)(?:\n\s*\n|$)", doc, flags=re.S)
    return " ".join(found.group(1).split()) if found else ""


def not_modelled(benefits: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(benefit, French text): what each benefit of the catalogue (or of ``benefits``, those a run looked for)
    leaves out, translated from its rule module's own paragraph (``NOT_MODELLED``); benefits sharing a module share
    one line (the two CSS; the allocations familiales and the complément familial, named together)."""
    from nonrecours.schemas.benefits import CATALOGUE

    by_module: dict[str, list[str]] = {}
    for b in CATALOGUE:
        if benefits is None or b.code in benefits:
            by_module.setdefault(b.rule_module, []).append(b.code)
    out = []
    for module, codes in by_module.items():
        label = ("complémentaire santé solidaire" if module == "css"
                 else " et ".join(BENEFIT_LABELS[c] for c in codes))
        out.append((label, NOT_MODELLED[module][1]))
    return out


# --- the sections ----------------------------------------------------------------------------------------

STAT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("units", "Unités évaluées", "int"),
    ("paid", "Unités payées", "int"),
    # the central rate's count: certain and probable flags weighted by their coverage (detection.rates)
    ("non_take_up_estimated", "Non-recours (central, estimé)", "tenth"),
    ("non_take_up_central", "dont droits certains ou probables", "int"),
    ("non_take_up_low", "Non-recours bas", "int"),
    ("non_take_up_high", "Non-recours haut", "int"),
    ("non_take_up_rate_central", "Taux (central)", "pct"),
    ("non_take_up_rate_low", "Taux bas", "pct"),
    ("non_take_up_rate_high", "Taux haut", "pct"),
    # the central amount: the certain and probable flags weighted as the central count (detection.rates)
    ("yearly_foregone_central", "Montant annuel non perçu (central, estimé)", "eur"),
    ("yearly_foregone_low", "Montant annuel bas", "eur"),
    ("yearly_foregone_high", "Montant annuel haut", "eur"),
    ("coherence_rate", "Cohérence", "pct"),
)
"""Statistics columns shown in the territory tables, in order: (column, header, format)."""


def _benefit_label(b: str) -> str:
    return SHORT_BENEFITS.get(b, b)


def commune_names(codes: pl.Series) -> dict[str, str]:
    """INSEE commune code → its name, for ``codes``: the national table shipped with the package (every
    commune of mainland France, Etalab ``decoupage-administratif``: ``synth/data/SOURCES.md``); a commune it
    does not name (overseas) is called by its EPCI (« commune de <EPCI> »), from the national EPCI table."""
    from nonrecours.outputs.statistics import epci_table
    from nonrecours.synth import load_territory

    wanted = pl.DataFrame({"depcom": codes.drop_nulls().unique().cast(pl.String)})
    if not wanted.height:
        return {}
    named = wanted.join(load_territory("france").select("depcom", "name"), on="depcom", how="left").join(
        epci_table().select("depcom", "epci"), on="depcom", how="left")
    return {code: name if name is not None else f"commune de {epci}"
            for code, name, epci in named.iter_rows() if name is not None or epci is not None}


def _area_label(level: str, area: str, communes: Mapping[str, str]) -> str:
    if level == "commune" and area in communes:
        return f"{communes[area]} ({area})"
    return area


def _stat_rows(frame: pl.DataFrame, communes: Mapping[str, str], columns=STAT_COLUMNS,
               with_household: bool = False) -> tuple[list[list[Cell]], list[dict[str, str]]]:
    """The table rows of statistics rows. Read by column, and each column's cells made once per distinct value
    (a :class:`Cell` is immutable, so rows share it): at 100,000 persons over France the territory tables hold
    about 28,000 rows, 240,000 figures of only 27,000 distinct values, and babel's formatting of each figure
    was most of the report's time."""
    if not frame.height:
        return [], []
    benefit, level, area, household = (frame.get_column(c).to_list()
                                       for c in ("benefit", "level", "area", "household_type"))
    secret = [bool(s) for s in frame.get_column("secret").to_list()]
    # a published cell's measures kept secret on their own (a count of 1 to 10 units and what would give it)
    told = (frame.get_column("secret_measures").to_list() if "secret_measures" in frame.columns
            else [None] * frame.height)

    def shared(made: dict[Any, Cell], values: Sequence[Any], make: Callable[[Any], Cell]) -> list[Cell]:
        out = []
        for v in values:
            # the type and repr tell apart what == does not (1, 1.0 and True; 0.0 and -0.0)
            key = (type(v), repr(v))
            c = made.get(key)
            if c is None:
                c = made[key] = make(v)
            out.append(c)
        return out

    labels: list[list[Cell]] = [shared({}, benefit, lambda b: cell(_benefit_label(b))),
                                shared({}, level, lambda lv: cell(LEVEL_LABELS.get(lv, lv))),
                                [cell(_area_label(lv, a, communes)) for lv, a in zip(level, area, strict=True)]]
    if with_household:
        labels.append(shared({}, household, cell))
    for c, _, f in columns:
        hidden = cell(None, f, col=c, secret=True)  # a secret figure is never formatted
        off = [s or (t is not None and c in t) for s, t in zip(secret, told, strict=True)]
        shown = iter(shared({}, [v for v, s in zip(frame.get_column(c).to_list(), off, strict=True) if not s],
                            lambda v, c=c, f=f: cell(v, f, col=c)))
        labels.append([hidden if s else next(shown) for s in off])
    rows = [list(r) for r in zip(*labels, strict=True)]
    keys = [{"benefit": b, "level": lv, "area": a, "household": h}
            for b, lv, a, h in zip(benefit, level, area, household, strict=True)]
    return rows, keys


def _whole(stats: pl.DataFrame | None) -> pl.DataFrame:
    """The statistics' whole-extract rows (all household types), one per benefit, in the benefits' order."""
    if stats is None:
        return pl.DataFrame()
    order = {b: i for i, b in enumerate(TARGET_BENEFITS)}
    whole = stats.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble"))
    return whole.sort(pl.col("benefit").replace_strict(order, default=len(order)), "benefit")


def _headline(stats: pl.DataFrame | None) -> dict[str, Any]:
    whole = _whole(stats)
    if not whole.height:
        return {"table": None, "charts": []}
    rows, keys = _stat_rows(whole, {})
    table = Table("synthese", ["Prestation", "Niveau", "Zone", *(h for _, h, _ in STAT_COLUMNS)], rows, keys,
                  sortable=True, caption="Ensemble du fichier, tous types de foyers (table statistics). Le "
                                         "non-recours compte aussi les unités exclues du contact (opposition, "
                                         "demande en cours, refus ou fin de droit récents : voir les degrés) ; "
                                         "l'estimation centrale de chaque ligne est plafonnée à son compte haut, "
                                         "ligne par ligne : celle d'une zone n'est pas la somme de celles de ses "
                                         "sous-zones.")
    labels = [_benefit_label(b) for b in whole["benefit"]]

    def col(name: str, rows: pl.DataFrame = whole) -> list[Any]:
        return [None if s else v for v, s in zip(rows[name].to_list(), rows["secret"].to_list(), strict=True)]

    # money: the cash benefits only (a coverage, the CSS, has no amount foregone: « — » in the table)
    money = whole.filter(cash())
    charts = [
        range_chart(labels, col("non_take_up_rate_central"), col("non_take_up_rate_low"),
                    col("non_take_up_rate_high"), fmt=fmt_pct, title="Taux de non-recours par prestation",
                    xlabel="non-recours / (non-recours + unités payées) ; trait : fourchette basse–haute"),
        range_chart([_benefit_label(b) for b in money["benefit"]], col("yearly_foregone_central", money),
                    col("yearly_foregone_low", money), col("yearly_foregone_high", money), fmt=fmt_eur,
                    title="Montants annuels non perçus par prestation",
                    xlabel="euros par an (12 × le mois évalué), prestations versées en argent (la CSS, une "
                           "couverture, n'en a pas) ; trait : fourchette basse–haute"),
    ]
    return {"table": table, "charts": charts}


COMMUNES_SHOWN = 200
"""Communes shown per benefit in the report's territory table (the largest published ones); every cell is in
statistics.parquet/csv. An extract spanning France lists every commune of France: at 100,000 persons that was
470,249 rows and a 644 MB page, almost all of them secret."""
EPCIS_CHARTED = 40
"""EPCIs drawn in the territory chart: those with a published rate first, then by units."""


def _shown_areas(ens: pl.DataFrame) -> pl.DataFrame:
    """The rows of the territory table: every total, département and EPCI row; of the communes, only the
    published ones (a secret row shows no figure), the :data:`COMMUNES_SHOWN` largest of each benefit."""
    communes = (ens.filter((pl.col("level") == "commune") & ~pl.col("secret"))
                .sort("units", "area", descending=[True, False])
                .filter(pl.int_range(pl.len()).over("benefit") < COMMUNES_SHOWN))
    return pl.concat([ens.filter(pl.col("level") != "commune"), communes])


def _territory(stats: pl.DataFrame | None, communes: Mapping[str, str]) -> dict[str, Any]:
    if stats is None:
        return {"table": None, "households": None, "chart": None}
    order = {lv: i for i, lv in enumerate(LEVEL_LABELS)}
    bord = {b: i for i, b in enumerate(TARGET_BENEFITS)}
    ens = stats.filter(pl.col("household_type") == "ensemble")
    n_communes = ens.filter(pl.col("level") == "commune").get_column("area").n_unique()
    shown = (_shown_areas(ens)
             .sort(pl.col("benefit").replace_strict(bord, default=len(bord)), pl.col("level").replace_strict(order),
                   "area"))
    rows, keys = _stat_rows(shown, communes)
    omitted = ens.filter(pl.col("level") == "commune").height - shown.filter(pl.col("level") == "commune").height
    note = (f" Communes : {fmt_int(omitted)} lignes secrètes ou au-delà des {COMMUNES_SHOWN} plus grandes "
            f"par prestation non affichées ({fmt_int(n_communes)} communes en tout) : voir statistics.csv."
            if omitted else "")
    table = Table("territoires", ["Prestation", "Niveau", "Zone", *(h for _, h, _ in STAT_COLUMNS)], rows, keys,
                  sortable=True, caption="Tous types de foyers, par zone (table statistics). « s » : secret "
                                         "statistique ; « — » : non défini (aucune unité concernée)." + note)
    types = (stats.filter(pl.col("level").is_in(["total", "departement"]) & (pl.col("household_type") != "ensemble"))
             .sort(pl.col("benefit").replace_strict(bord, default=len(bord)), pl.col("level").replace_strict(order),
                   "area", "household_type"))
    hrows, hkeys = _stat_rows(types, communes, with_household=True)
    households = Table("foyers", ["Prestation", "Niveau", "Zone", "Type de foyer",
                                  *(h for _, h, _ in STAT_COLUMNS)], hrows, hkeys, sortable=True,
                       caption="Par type de foyer, fichier entier et départements (table statistics).")
    epci = ens.filter(pl.col("level") == "epci")
    # the EPCIs with a published rate first (secret ones are drawn as such), the largest first
    published = ~pl.col("secret") & pl.col("non_take_up_rate_central").is_not_null()
    charted = (epci.group_by("area").agg(published.any().alias("published"), pl.col("units").max())
               .sort("published", "units", "area", descending=[True, True, False])
               .head(EPCIS_CHARTED).get_column("area"))
    epci = epci.filter(pl.col("area").is_in(charted.implode()))
    areas = sorted(set(epci["area"]))
    series = {}
    for b in [b for b in TARGET_BENEFITS if b in set(epci["benefit"])]:
        sub = {r["area"]: (None if r["secret"] else r["non_take_up_rate_central"])
               for r in epci.filter(pl.col("benefit") == b).iter_rows(named=True)}
        series[_benefit_label(b)] = [sub.get(a) for a in areas]
    chart = (grouped_chart(areas, series, title="Taux de non-recours central par EPCI", fmt=fmt_pct,
                           xlabel=f"taux central ; les {EPCIS_CHARTED} EPCI les plus grands au plus, "
                                  "zones secrètes ou sans unité concernée omises")
             if areas else None)
    return {"table": table, "households": households, "chart": chart}


def _grades(stats: pl.DataFrame | None, summary: dict[str, Any] | None, published: set[str],
            threshold: int, detection: Path | None = None) -> dict[str, Any]:
    whole = _whole(stats)
    out: dict[str, Any] = {"table": None, "chart": None, "flags": None}
    if whole.height:
        cols = (("entitled_certain", "Droit certain", "int"), ("entitled_probable", "Droit probable", "int"),
                ("entitled_possible", "Droit possible", "int"), ("excluded", "Exclues du contact", "int"),
                ("under_payment", "Sous-paiement", "int"))
        rows, keys = _stat_rows(whole, {}, columns=cols)
        out["table"] = Table("degres", ["Prestation", "Niveau", "Zone", *(h for _, h, _ in cols)], rows, keys,
                             caption="Unités ouvrant droit par degré de confiance, fichier entier "
                                     "(table statistics). Les unités exclues du contact (opposition, demande en "
                                     "cours, refus ou fin de droit récents) y sont comptées : elles ont un droit, "
                                     "on ne les contacte pas.")
        labels = [_benefit_label(b) for b in whole["benefit"]]
        parts = {GRADE_LABELS[g]: [None if s else v for v, s in zip(whole[f"entitled_{g}"], whole["secret"],
                                                                     strict=True)]
                 for g in ("certain", "probable", "possible")}
        out["chart"] = stacked_chart(labels, parts, title="Unités ouvrant droit, par degré de confiance",
                                     xlabel="unités (familles ou personnes selon la prestation)")
    if summary is not None:
        grades = summary.get("flags_by_benefit_grade", {})
        hidden = _flag_secrecy(summary, published, threshold, detection)
        rows = []
        order = [b for b in TARGET_BENEFITS if b in grades] + sorted(set(grades) - set(TARGET_BENEFITS))
        for b in order:
            rows.append([cell(_benefit_label(b))] + [cell(grades[b].get(g, 0), "int", col=g,
                                                          secret=hidden.get((b, g), True))
                                                     for g in ("certain", "probable", "possible")])
        out["flags"] = Table("signalements", ["Prestation", "Certain", "Probable", "Possible"], rows,
                             [{"benefit": b} for b in order],
                             caption="Signalements à contacter (après exclusions) par degré (summary.json de la "
                                     "détection). « s » : secret statistique (ce compte, ou celui des unités "
                                     "exclues qu'il donnerait à côté des statistiques, est sous le seuil).")
    return out


def _flag_secrecy(summary: Mapping[str, Any], published: set[str], threshold: int,
                  detection: Path | None = None) -> dict[tuple[str, str], bool]:
    """(benefit, grade) → the count of flags is secret (``answers.flag_grade_pattern``, from the summary's flags
    and excluded would-be flags by benefit and grade, or the ``detection`` folder's files for a summary written
    without them: ``answers.summary_grades``); where neither says, they are all hidden."""
    from nonrecours.outputs.answers import flag_grade_pattern, summary_grades

    grades = summary_grades(dict(summary), detection)
    if grades is None:
        return {}
    pattern = flag_grade_pattern(grades, published, threshold)
    return {(b, g): h for b, g, h in pattern.select("benefit", "grade", "hidden").iter_rows()}


VALUE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("flags", "Signalements", "int"),
    ("flags_lost", "Perdus", "int"),
    ("flags_gained", "Gagnés", "int"),
    ("amount_central", "Montant mensuel signalé", "eur"),
    ("amount_change", "Écart de montant", "eur_change"),
    ("precision", "Précision", "pct"),
    ("recall", "Rappel", "pct"),
    ("recall_change", "Écart de rappel", "pts"),
)
"""answer1_exchange_value columns shown, in order: (column, header, format); lost and gained against the run
with every agency."""


def _scenario_label(scenario: str) -> str:
    """« sans caf » → « sans CAF »; « toutes » → « tous les organismes »; « CAF seule » as it is."""
    if scenario.startswith("sans "):
        return "sans " + agency_label(scenario.removeprefix("sans "))
    return {"toutes": "tous les organismes"}.get(scenario, scenario)


def _exchange_value(value: pl.DataFrame, published: set[str]) -> dict[str, Any]:
    """The value of each exchange (answer 1, measured): the table, and per benefit one sentence in plain
    French naming the extract whose absence loses the most flags and what the CAF's alone keeps. Every
    figure is a cell of ``answer1_exchange_value``; a benefit the statistics keep secret, or a row the table
    keeps secret (``answers.secret_answers``), is not read out."""
    from nonrecours.outputs.answers import CONTRIBUTING

    order = {s: i for i, s in enumerate(["toutes", *(f"sans {a}" for a in CONTRIBUTING), "CAF seule"])}
    bord = {b: i for i, b in enumerate(TARGET_BENEFITS)}
    value = value.sort(pl.col("benefit").replace_strict(bord, default=len(bord)),
                       pl.col("scenario").replace_strict(order, default=len(order)), maintain_order=True)
    truth = "reference" in value.columns and value.height and value["reference"][0] == "vérité synthétique"
    rows = [[cell(_scenario_label(r["scenario"])), cell(_benefit_label(r["benefit"])),
             *[cell(r[c], f, col=c, secret=_hidden(r, c, published)) for c, _, f in VALUE_COLUMNS]]
            for r in value.iter_rows(named=True)]
    against = ("la vérité du territoire synthétique (précision : part des signalements justes ; rappel : part "
               "du non-recours réel trouvé)" if truth else
               "le traitement avec tous les organismes (précision : part des signalements qu'il fait aussi ; "
               "rappel : part de ses signalements conservés)")
    table = Table("valeur-echanges", ["Scénario", "Prestation", *(h for _, h, _ in VALUE_COLUMNS)], rows,
                  [{"benefit": r["benefit"], "scenario": r["scenario"]} for r in value.iter_rows(named=True)],
                  sortable=True, caption="Détection rejouée sans l'extrait de chaque organisme, et avec celui de "
                                         f"la CAF seul ; mesurée contre {against}. Perdus, gagnés et écarts : "
                                         "par rapport au traitement avec tous les organismes "
                                         "(answer1_exchange_value).")
    reading = []
    for b in [b for b in TARGET_BENEFITS if b in published and b in set(value["benefit"])]:
        sub = {r["scenario"]: r for r in value.filter(pl.col("benefit") == b).iter_rows(named=True)
               if not r.get("secret")}
        full = sub.get("toutes")
        if full is None:
            continue
        n_without = value.filter((pl.col("benefit") == b) & pl.col("scenario").str.starts_with("sans ")).height
        # the CAF's file alone is today's practice for what the CAF pays, not for the ASPA, CSS or ASI
        practice = " (la pratique actuelle)" if catalogue_row(b).lead == "caf" else ""
        text = f"{_benefit_label(b)} : "
        if full["flags"] is not None:  # counts published: the flags lost
            without = [r for s, r in sub.items() if s.startswith("sans ") and r["flags_lost"] is not None]
            if not without or not full["flags"]:
                continue
            worst = max(without, key=lambda r: (r["flags_lost"], -(r["amount_change"] or 0.0), r["scenario"]))
            if len(without) < n_without:
                text += "parmi les scénarios publiés, "  # a secret one may lose more
            if worst["flags_lost"]:
                text += (f"sans l'extrait {agency_of(worst['scenario'].removeprefix('sans '))}, "
                         f"{fmt_int(worst['flags_lost'])} des {fmt_int(full['flags'])} signalements sont perdus")
                if (worst["amount_change"] or 0.0) <= -0.5:
                    text += f" (le montant mensuel signalé baisse de {fmt_eur(-worst['amount_change'])})"
                if truth and worst["recall"] is not None and full["recall"] is not None:
                    text += f", le rappel passant de {fmt_pct(full['recall'])} à {fmt_pct(worst['recall'])}"
            else:
                text += "aucun extrait ne fait à lui seul perdre de signalement"
        else:  # the counts secret (the run's certain and probable flags): the recall alone
            without = [r for s, r in sub.items() if s.startswith("sans ") and r["recall"] is not None]
            if not truth or full["recall"] is None or not without:
                continue
            worst = min(without, key=lambda r: (r["recall"], r["scenario"]))
            if len(without) < n_without:
                text += "parmi les scénarios publiés, "
            text += (f"sans l'extrait {agency_of(worst['scenario'].removeprefix('sans '))}, le rappel passe de "
                     f"{fmt_pct(full['recall'])} à {fmt_pct(worst['recall'])} (comptes de signalements secrets)")
        caf = sub.get("CAF seule")
        if caf is not None and caf["flags"] is not None:
            flags = ("signalements certains ou probables" if caf["flags"] > 1  # « 0 signalement » in French
                     else "signalement certain ou probable")
            text += f" ; avec le seul extrait de la CAF{practice}, {fmt_int(caf['flags'])} {flags}"
            if truth and caf["recall"] is not None and caf["precision"] is not None:
                text += f" (précision {fmt_pct(caf['precision'])}, rappel {fmt_pct(caf['recall'])})"
            elif truth and caf["recall"] is not None:
                text += f" (rappel {fmt_pct(caf['recall'])})"
            elif caf["flags_gained"] is not None:  # secret where few are gained or kept
                text += f", dont {fmt_int(caf['flags'] - caf['flags_gained'])} du traitement complet"
        elif caf is not None and truth and caf["recall"] is not None:
            text += f" ; avec le seul extrait de la CAF{practice}, rappel {fmt_pct(caf['recall'])}"
        reading.append(text + ".")
    return {"value": table, "value_reading": reading}


def _hidden(row: Mapping[str, Any], col: str, published: set[str]) -> bool:
    """An answer's cell is secret: its benefit's count of flags is, or the answer's table says so (``secret``,
    ``secret_measures``: ``answers.secret_answers``)."""
    return row["benefit"] not in published or bool(row.get("secret")) or col in (row.get("secret_measures") or ())


def _answers(folder: Path, published: set[str], threshold: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # 1. Data to exchange, and (when the run measured it) the value of each exchange.
    need = _read(folder / "answer1_data_to_exchange.parquet")
    if need is not None:
        agencies = sorted({a for lst in need["agencies"] for a in lst})
        labels = input_labels()  # the engine's input names in French, never « ofpra_protection »
        rows, keys = [], []
        for b in [b for b in TARGET_BENEFITS if b in set(need["benefit"])]:
            sub = need.filter(pl.col("benefit") == b)
            carried = sub.explode("agencies").group_by("agencies").len()
            per = dict(carried.drop_nulls("agencies").iter_rows())
            missing = sub.filter(~pl.col("supplied")).get_column("input").to_list()
            rows.append([cell(_benefit_label(b)), cell(sub.height, "int", col="inputs"),
                         cell(int(sub["supplied"].sum()), "int", col="supplied"),
                         *[cell(per.get(a, 0), "int", col=a) for a in agencies],
                         cell(", ".join(labels.get(m, m) for m in missing) if missing else "aucune")])
            keys.append({"benefit": b})
        out["need"] = Table("echanges", ["Prestation", "Données lues par les règles", "dont fournies par un extrait",
                                         *[agency_label(a) for a in agencies],
                                         "Fournies par aucun extrait (restent à demander)"], rows, keys,
                            caption="Nombre de données d'entrée des règles que l'extrait de chaque organisme "
                                    "porte (answer1_data_to_exchange).")
    settle = _read(folder / "answer1_unknowns_to_settle.parquet")
    if settle is not None:
        # a published benefit's unknowns only, each naming at least as many flags as a published cell holds
        # units (no total beside them: nothing to difference)
        # (a secret row's flags are null: never shown)
        shown = settle.filter(pl.col("benefit").is_in(sorted(published)) & (pl.col("flags") >= threshold))
        bord = {b: i for i, b in enumerate(TARGET_BENEFITS)}
        shown = shown.sort(pl.col("benefit").replace_strict(bord, default=len(bord)), pl.col("flags"),
                           descending=[False, True], maintain_order=True)
        labels = input_labels()
        rows = [[cell(_benefit_label(r["benefit"])), cell(labels.get(r["input"], r["input"])),
                 cell(r["flags"], "int", col="flags"),
                 cell(r["share_of_uncertain_flags"], "pct", col="share",
                      secret=_hidden(r, "share_of_uncertain_flags", published)),
                 *[cell(r.get(c), "eur", col=c, secret=_hidden(r, c, published))
                   for c in ("monthly_amount", "monthly_amount_high")],
                 cell(", ".join(agency_label(a) for a in r["agencies"]) if r["agencies"] else "aucun extrait")]
                for r in shown.iter_rows(named=True)]
        out["settle"] = Table("inconnues", ["Prestation", "Donnée inconnue qui décide", "Signalements",
                                           "Part des signalements non certains",
                                           "Montant mensuel manquant (central)", "Montant mensuel manquant (haut)",
                                           "Organismes qui peuvent la transmettre"], rows,
                              [{"benefit": r["benefit"], "input": r["input"]} for r in shown.iter_rows(named=True)],
                              sortable=True,
                              caption="Données inconnues qui décident des signalements non certains : celles dont "
                                      "l'échange ferait passer le plus de cas en « certain » "
                                      f"(answer1_unknowns_to_settle ; {threshold} signalements au moins). "
                                      "Montants : l'estimation moins ce qui est versé, aux valeurs centrales et "
                                      "aux valeurs favorables des inconnues (un signalement possible ne vaut "
                                      "souvent rien aux valeurs centrales).")
    value = _read(folder / "answer1_exchange_value.parquet")
    if value is not None:
        out.update(_exchange_value(value, published))
    # 2. Claim fields already held.
    held = _read(folder / "answer2_claim_fields_held.parquet")
    if held is not None:
        bord = {b: i for i, b in enumerate(TARGET_BENEFITS)}
        held = held.sort(pl.col("benefit").replace_strict(bord, default=len(bord)), "population", "source",
                         maintain_order=True)
        rows = [[cell(_benefit_label(r["benefit"])), cell(r["population"]),
                 cell(agency_label(r["source"]) if r["source"] != "toutes" else "toutes"),
                 cell(r["units"], "int", col="units", secret=_hidden(r, "units", published)),
                 cell(r["fields"], "int", col="fields"),
                 cell(r["share_held"], "pct", col="share_held", secret=_hidden(r, "share_held", published))]
                for r in held.iter_rows(named=True)]
        out["held"] = Table("champs", ["Prestation", "Population", "Source", "Unités", "Champs du formulaire",
                                       "Part déjà détenue"], rows,
                            [{"benefit": r["benefit"], "population": r["population"], "source": r["source"]}
                             for r in held.iter_rows(named=True)], sortable=True,
                            caption="Part des champs du formulaire de demande déjà détenue par l'administration "
                                    "(answer2_claim_fields_held). Les organismes se recouvrent (un champ que deux "
                                    "détiennent compte pour chacun) : leurs parts ne s'additionnent pas en « toutes "
                                    "sources ».")
        every = held.filter(pl.col("source") == "toutes")
        benefits = [b for b in TARGET_BENEFITS if b in set(every["benefit"])]
        series = {}
        for pop in sorted(set(every["population"]), reverse=True):
            sub = dict(every.filter(pl.col("population") == pop).select("benefit", "share_held").iter_rows())
            series[pop] = [sub.get(b) if b in published else None for b in benefits]
        out["held_chart"] = grouped_chart([_benefit_label(b) for b in benefits], series, fmt=fmt_pct,
                                          title="Part du formulaire déjà détenue, toutes sources",
                                          xlabel="part des champs de la demande") if benefits else None
    # 3. Automation scenarios.
    auto = _read(folder / "answer3_automation.parquet")
    if auto is not None:
        bord = {b: i for i, b in enumerate(TARGET_BENEFITS)}
        auto = auto.sort(pl.col("benefit").replace_strict(bord, default=len(bord)),
                         pl.col("scenario").replace_strict({sc: i for i, sc in enumerate(SCENARIOS)},
                                                           default=len(SCENARIOS)), maintain_order=True)
        rows = []
        for r in auto.iter_rows(named=True):
            rows.append([cell(_benefit_label(r["benefit"])), cell(r["scenario"]),
                         *[cell(r[c], f, col=c, secret=_hidden(r, c, published))
                           for c, f in (("flags", "int"), ("yearly_amount", "eur"), ("share_certain", "pct"),
                                        ("error_risk", "pct"))], cell(r["legal_basis"])])
        out["auto"] = Table("automatisation", ["Prestation", "Scénario", "Signalements",
                                               "Montant annuel manquant des signalements", "Part certaine",
                                               "Risque d'erreur", "Base légale"], rows,
                            [{"benefit": r["benefit"], "scenario": r["scenario"]} for r in auto.iter_rows(named=True)],
                            sortable=True, caption="Scénarios d'automatisation (answer3_automation). Montant : "
                                                   "12 × l'estimation centrale de chaque signalement moins ce qui "
                                                   "est versé, sommée sur les signalements de tout degré ; ce n'est "
                                                   "pas l'estimation centrale de la synthèse (signalements certains "
                                                   "et probables pondérés).")
        present = set(auto["scenario"])
        scenarios = [sc for sc in SCENARIOS if sc in present] + sorted(present - set(SCENARIOS))
        benefits = [b for b in TARGET_BENEFITS if b in set(auto["benefit"])]
        parts = {}
        for sc in scenarios:
            sub = dict(auto.filter(pl.col("scenario") == sc).select("benefit", "flags").iter_rows())
            parts[sc] = [(sub.get(b, 0) if b in published else None) for b in benefits]
        out["auto_chart"] = stacked_chart([_benefit_label(b) for b in benefits], parts,
                                          title="Signalements par scénario d'automatisation",
                                          xlabel="signalements") if benefits else None
        out["scenarios"] = sorted(set(zip(auto["scenario"], auto["description"], strict=True)),
                                  key=lambda t: scenarios.index(t[0]))
    return out


def _quality(run_dir: Path, stats: pl.DataFrame | None, summary: dict[str, Any] | None,
             threshold: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reports = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted((run_dir / "workspace" / "reports").glob("*.json"))]
    if reports:
        rows, reasons = [], []
        for r in reports:
            share = r["rows_quarantined"] / r["rows_read"] if r["rows_read"] else None
            rows.append([cell(agency_label(r["agency"])), cell(r["file"]),
                         cell(r["rows_read"], "int", col="rows_read"),
                         cell(r["rows_accepted"], "int", col="rows_accepted"),
                         cell(r["rows_quarantined"], "int", col="rows_quarantined"),
                         cell(share, "pct", col="share")])
            reasons += [[cell(agency_label(r["agency"])), cell(r["file"]), cell(quarantine_reason(reason)),
                         cell(n, "int", col="count")] for reason, n in sorted(r["faults"].items())]
        out["quarantine"] = Table("quarantaine", ["Organisme", "Fichier", "Lignes lues", "Acceptées",
                                                  "En quarantaine", "Part en quarantaine"], rows,
                                  [{"file": r["file"]} for r in reports], sortable=True,
                                  caption="Lignes lues = acceptées + en quarantaine (rapports d'ingestion).")
        out["reasons"] = Table("motifs", ["Organisme", "Fichier", "Colonne : motif", "Lignes"], reasons,
                               sortable=True, caption="Motifs de mise en quarantaine (colonne telle que "
                                                      "l'organisme la nomme : motif).")
    if summary is not None:
        conflicts = summary.get("conflicts", {})
        out["conflicts"] = Table("conflits", ["Écart entre sources", "Nombre"],
                                 [[cell(CONFLICT_LABELS.get(k, k)), cell(v, "int", col=k)]
                                  for k, v in sorted(conflicts.items())], [{"key": k} for k in sorted(conflicts)],
                                 caption="Écarts de composition des foyers entre organismes, tels que le cœur les "
                                         "a réconciliés (summary.json).")
        core = summary.get("core_counts", {})
        out["core"] = Table("coeur", ["Compte", "Nombre"], [[cell(CORE_LABELS.get(k, k)), cell(v, "int", col=k)]
                                                           for k, v in sorted(core.items())],
                            [{"key": k} for k in sorted(core)])
        excl = summary.get("exclusions", {})
        out["exclusions"] = Table("exclusions", ["Exclusion", "Vérifiée", "Unités concernées"],
                                  [[cell(EXCLUSION_LABELS.get(k, k)), cell("oui" if v.get("checked") else "non"),
                                    cell(v.get("count"), "int", col=k,
                                         secret=0 < (v.get("count") or 0) < threshold)]
                                   for k, v in sorted(excl.items())],
                                  [{"key": k} for k in sorted(excl)],
                                  caption="Unités que chaque motif exclut du contact (summary.json) : une unité "
                                          "exclue pour deux motifs compte à chacun ; les unités exclues, une fois "
                                          f"chacune, sont au tableau des degrés. « s » : moins de {threshold} "
                                          "unités (secret statistique : une opposition ou un refus est celui "
                                          "d'une personne).")
        out["unknowns"] = summary.get("unknowns", {})
    whole = _whole(stats)
    if whole.height:
        cols = (("paid", "Unités payées", "int"), ("paid_entitled", "dont trouvées ouvrant droit", "int"),
                ("coherence_rate", "Taux de cohérence", "pct"))
        rows, keys = _stat_rows(whole, {}, columns=cols)
        out["coherence"] = Table("coherence", ["Prestation", "Niveau", "Zone", *(h for _, h, _ in cols)], rows, keys,
                                 caption="Part des unités déjà payées que nos règles trouvent aussi ouvrant droit : "
                                         "le seul signal de précision que donnent des données réelles (table "
                                         "statistics).")
    return out


def _parameters(run_dir: Path, month: dt.date, benefits: Sequence[str] = TARGET_BENEFITS) -> dict[str, Any]:
    from nonrecours.errors import NotInForceError
    from nonrecours.rules.registry import default_registry

    bindings = _json(run_dir / "rules" / f"parameters-{month:%Y-%m}.json") or []
    first = f"{month:%Y-%m}-01"
    rows = []
    for b in sorted((b for b in bindings if b["month"] == first), key=lambda b: b["name"]):
        value = b["value"]
        unit = b.get("unit") or ""
        if isinstance(value, bool) or not isinstance(value, int | float):
            shown = cell(str(value))
        elif unit == "currency":
            shown = Cell(fmt_eur(value, cents=True), value, "value", "", True)
        else:
            text = fmt_number(value) + (f" {UNIT_LABELS.get(unit, unit)}" if UNIT_LABELS.get(unit, unit) else "")
            shown = Cell(text, value, "value", "", True)
        rows.append([cell(b["name"]), shown, cell(fmt_date(b.get("start"))), cell(b.get("ref") or "")])
    registry = default_registry()
    variants = []
    for t in benefits:
        try:
            v = registry.variant(catalogue_row(t).rule, month)
        except NotInForceError:  # a benefit with no formula in force that month: say so
            variants.append([cell(_benefit_label(t)), cell("aucune formule en vigueur"), cell(""), cell("")])
            continue
        variants.append([cell(_benefit_label(t)), cell(v.label), cell(fmt_date(v.start)),
                         cell(v.ref or "")])
    return {"table": Table("parametres", ["Paramètre", "Valeur", "En vigueur depuis", "Référence"], rows,
                           sortable=True, caption=f"Valeurs en vigueur le 1er {fmt_month(month)} "
                                                  f"(rules/parameters-{month:%Y-%m}.json)."),
            "rules": Table("regles", ["Prestation", "Règle", "Formule en vigueur depuis", "Référence"], variants)}


# --- the page ----------------------------------------------------------------------------------------

def build_report(run_dir: str | Path, month: dt.date, *, run_info: Mapping[str, Any] | None = None) -> str:
    """The report of ``month`` for the run folder ``run_dir``, as one HTML string.

    ``run_info``: what the run manifest says of the run (``config`` with sha256, backend, benefits, thresholds;
    ``agreement`` with exchange_id and purpose). Commune rows are named from the national table
    (``commune_names``).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    run_dir = Path(run_dir)
    info = dict(run_info or {})
    folder = run_dir / "outputs" / f"{month:%Y-%m}"
    stats = _read(folder / "statistics.parquet")
    # the benefits the run looked for (run.toml's ``benefits``: its statistics' rows), not the catalogue's fourteen
    in_stats = set(stats.get_column("benefit")) if stats is not None and stats.height else set(TARGET_BENEFITS)
    looked_for = [b for b in TARGET_BENEFITS if b in in_stats]
    detection = run_dir / "detection" / f"{month:%Y-%m}"
    summary = _json(detection / "summary.json")
    published = published_benefits(stats)
    communes = commune_names(stats.filter(pl.col("level") == "commune").get_column("area")
                             if stats is not None else pl.Series([], dtype=pl.String))
    config = info.get("config", {})
    thresholds = config.get("thresholds", {})
    # the run's secrecy threshold (run.toml's ``thresholds.suppression``), the statistics' default without one
    threshold = int(thresholds.get("suppression") or StatisticsConfig().threshold)
    answers = _answers(folder, published, threshold)
    charts = {k: Markup(v) for k, v in answers.items() if k.endswith("_chart") and v}
    headline = _headline(stats)
    terr = _territory(stats, communes)
    grades = _grades(stats, summary, published, threshold, detection)
    limits = []
    if summary is not None:
        for k, v in sorted(summary.get("exclusions", {}).items()):
            if not v.get("checked"):
                limits.append(f"Exclusion « {EXCLUSION_LABELS.get(k, k)} » : non vérifiée, aucune donnée ne la "
                              "montre ; des personnes concernées peuvent figurer dans les signalements.")
        unknowns = summary.get("unknowns", {})
        if unknowns.get("values"):
            n, units = unknowns["values"], unknowns.get("units", 0)
            limits.append(f"{fmt_int(n)} {fr(n, 'valeur', 'valeurs')} qu'aucun organisme ne fournit "
                          f"(sur {fmt_int(units)} {fr(units, 'personne ou unité', 'personnes ou unités')}) "
                          f"{fr(n, 'reste inconnue : elle fait', 'restent inconnues : elles font')} les "
                          "fourchettes basse–haute et les degrés, jamais une valeur par défaut.")
        if summary.get("persons_not_evaluated"):
            n = summary["persons_not_evaluated"]
            verb = fr(n, "n'est dans aucune famille et n'est pas évaluée",
                      "ne sont dans aucune famille et ne sont pas évaluées")
            limits.append(f"{fmt_int(n)} {fr(n, 'personne connue', 'personnes connues')} des organismes {verb}.")
        away = summary.get("territory_not_modelled", {})
        if away.get("familles"):
            n, persons = away["familles"], away.get("persons", 0)
            them = fr(n, "elle n'est pas évaluée", "elles ne sont pas évaluées")
            limits.append(f"{fmt_int(n)} {fr(n, 'famille', 'familles')} ({fmt_int(persons)} "
                          f"{fr(persons, 'personne', 'personnes')}) {fr(n, 'vit', 'vivent')} à Mayotte, à "
                          "Saint-Pierre-et-Miquelon ou dans une collectivité d'outre-mer, dont les règles ne sont "
                          f"pas modélisées : {them}.")
    if summary is not None:
        for agency, months in sorted(summary.get("payment_months_lost", {}).items()):
            limits.append(f"{agency_label(agency)} : aucun versement transmis pour "
                          f"{_months_said(months)}, entre des mois qui en ont (un fichier "
                          "manquant ?) : les versements de chaque famille du mois précédent y sont reportés.")
        for agency, months in sorted(summary.get("resource_months_estimated", {}).items()):
            limits.append(f"{agency_label(agency)} : aucune ressource transmise pour "
                          f"{_months_said(months)}, entre des mois qui en ont (un fichier "
                          "manquant ?) : les ressources de chaque personne y sont estimées d'après les mois voisins, "
                          "en fourchette.")
    for benefit, missing in sorted(info.get("payers_absent", {}).get(f"{month:%Y-%m}", {}).items()):
        names = " ni ".join(agency_of(a) for a in missing)
        limits.append(f"{SHORT_BENEFITS.get(benefit, benefit)} : aucun extrait {names}, qui en verse aussi : "
                      "ses versements ne sont connus qu'en partie et ses taux de non-recours ne sont pas publiés.")
    if "value" not in answers:
        limits.append("La valeur de chaque échange (détection rejouée sans chaque organisme) n'est pas mesurée "
                      "par ce traitement (section [ablation] de run.toml) : seules les données que chaque extrait "
                      "porte sont listées.")
    if stats is None:
        limits.append("Les statistiques n'ont pas été produites pour ce mois (pas de résidence ni de "
                      "composition des foyers dans l'espace de travail).")
    env = Environment(loader=PackageLoader("nonrecours.outputs", "templates"), autoescape=select_autoescape(),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    page = env.get_template("report.html.j2").render(
        month=fmt_month(month), month_code=f"{month:%Y-%m}", headline=headline, territory=terr, grades=grades,
        answers=answers, charts=charts, quality=_quality(run_dir, stats, summary, threshold),
        parameters=_parameters(run_dir, month, looked_for), rules_version=rules_version(),
        not_modelled=not_modelled(looked_for),
        limits=limits, threshold=thresholds.get("suppression"), config=config, agreement=info.get("agreement", {}),
        units_note=_units_note(summary), chart_headline=[Markup(c) for c in headline["charts"]],
        chart_territory=Markup(terr["chart"]) if terr.get("chart") else None,
        chart_grades=Markup(grades["chart"]) if grades.get("chart") else None,
        benefits=[(b, _benefit_label(b)) for b in looked_for], fmt_pct=fmt_pct, fmt_int=fmt_int)
    return page


def _units_note(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return ""
    persons, familles = summary.get("persons", 0), summary.get("familles", 0)
    return (f"{fmt_int(persons)} {fr(persons, 'personne', 'personnes')} dans {fmt_int(familles)} "
            f"{fr(familles, 'famille évaluée', 'familles évaluées')}")


def write_report(run_dir: str | Path, month: dt.date, *, run_info: Mapping[str, Any] | None = None) -> Path:
    """Write ``outputs/YYYY-MM/report.html`` atomically; return its path."""
    run_dir = Path(run_dir)
    target = run_dir / "outputs" / f"{month:%Y-%m}" / REPORT
    return write_text(target, build_report(run_dir, month, run_info=run_info))
