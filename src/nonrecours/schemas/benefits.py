"""The benefit catalogue: one row per benefit detection looks for, the one place every list derives from.

Each :class:`Benefit` says how it is read off the engine (the famille rule giving the monthly amount or the
entitlement), whether it is an amount or a coverage, how often it is paid, who pays it and contacts people
about it (the lead agency, and the MSA for its members), its French names, the ``run.toml`` name that asks
for it, and the default window of a refusal or closure that excludes a unit from outreach.

Derived here: ``BENEFITS`` (codes, in order), ``ASKED`` (run.toml names), ``ENGINE_TARGETS`` (rules the
engine evaluates), ``AMOUNT_BENEFITS``, ``TIERS`` (the tiers of one right). Derived elsewhere from
``CATALOGUE``: the run configuration's allowed
names and exclusion windows (``config``), the rule targets of the rules stage (``run``), detection's targets
(``detection.targets``), the outputs' labels and payers (``outputs.law``, ``outputs.outreach``), the
``simulate`` fields and the engine outputs (``rules.benefits``). No other module lists benefits.

Decisions written down (legal text cited on each row):

- Yearly benefits (``period="year"``: the allocation de rentrée scolaire, the chèque énergie) are judged on
  the payment already due (``Benefit.due_month``): the last ``payment_month`` at or before the evaluated
  month. In June 2026 the ARS judged is the one due in August 2025 (school year 2025-2026), computed at that
  month with the rules' own conditions (ages, composition and resources then), against what was paid from
  that month on; the ARS of August 2026 is not yet due and is only counted (``not_yet_due`` in detection's
  summary). Judging the coming payment against the last one paid made every newly eligible famille a
  non-take-up and every change of age band an under-payment. Their amounts in detection outputs are monthly
  equivalents (the yearly amount / 12, so statistics add them to the monthly ones and ``yearly = 12 ×
  monthly`` holds).
- The chèque énergie is sent by the Agence de services et de paiement (ASP) to the households the DGFiP lists
  from the revenu fiscal de référence (Code de l'énergie art. L124-1, R124-1 to R124-3). No agency of this
  project transmits the cheques sent: its payment is *unknown* (``payers`` empty), so its flags are
  ``possible`` at most. A newly eligible household claims it on chequeenergie.gouv.fr, from the ASP, which sends
  no extract: no layout carries its claims (``claim_layouts`` empty). Its lead agency is the ASP, where the claim
  goes (``schemas.codes.CLAIM_ONLY_AGENCIES``), not the DGFiP, which sends data but contacts nobody and takes no
  claim: an outreach row said ``claim_agency`` DGFiP beside « chequeenergie.gouv.fr (guichet de l'ASP) » (an
  outside tester, runA, 6 December 2026). A relay holding a record of the person contacts them.
- The ASI is served by the body paying the invalidity pension it tops up (CSS art. L815-24: in practice
  the CPAM, the MSA for farm members): lead agency CNAM, whose extract carries its payments and its claim
  events (as does the MSA's). The AAH is paid by the CAF
  (MSA for farm members) on the CDAPH's decision (CSS art. L821-7); the disability rate is only known when
  an agency transmits it, so an AAH flag without a transmitted rate is ``possible`` at most.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AMOUNT_BENEFITS",
    "ASKED",
    "BENEFITS",
    "CATALOGUE",
    "ENGINE_TARGETS",
    "TIERS",
    "Benefit",
    "benefit",
    "by_asked",
    "payers_missing",
]


@dataclass(frozen=True)
class Benefit:
    """One benefit detection looks for (see the module docstring for the decisions behind the fields)."""

    code: str
    """Code in ``benefits_paid`` (schemas.codes.BENEFITS), in detection's outputs and in the outputs."""
    rule: str
    """Famille rule: the monthly (or yearly) amount in euros, or the entitlement (a boolean) of a coverage."""
    kind: Literal["amount", "coverage"]
    label: str
    """French name for letters and tables."""
    short: str
    """Short French name (reasons, charts)."""
    asked: str
    """The ``benefits`` name in run.toml that asks for it (``css`` asks for both CSS)."""
    lead: str
    """Agency that pays it and the claim goes to (outreach's ``claim_agency``); it contacts the people it holds a
    record of (an agency with no extract, ``schemas.codes.CLAIM_ONLY_AGENCIES``, holds none: a relay does)."""
    ref: str
    """Legal reference of the benefit and of who pays it."""
    exclusion_months: int
    """Default window (months) in which a refusal or closure excludes a unit from outreach."""
    members_lead: str | None = "msa"
    """Agency paying it to its own members instead (farm households: the MSA); None: no exception."""
    payers: tuple[str, ...] = ()
    """Agencies whose extracts report the payments (empty: nobody transmits them, so payment is unknown)."""
    period: Literal["month", "year"] = "month"
    payment_month: int | None = None
    """For a yearly benefit, the month it is paid (the ARS in August, the chèque énergie in April)."""
    due_label: str = ""
    """For a yearly benefit, the French name of the payment due in ``{year}`` (reasons: which year is judged)."""
    amount_rule: str | None = None
    """For a coverage, the rule giving its monthly amount (the CSS participation the foyer pays)."""
    excludes: str | None = None
    """Code of a benefit that, when due, replaces this one (free CSS over CSS with participation)."""
    simulate_field: str | None = None
    """``simulate`` output field of ``rule`` (SITUATION_FORMAT.md) when it differs from ``code``."""
    unknown_caps: tuple[tuple[str, str], ...] = ()
    """(engine input, best grade) : a famille whose value of that input is unknown gets at most that grade."""
    feminine: bool = False
    """Grammatical gender of ``short`` (« estimée » or « estimé »)."""
    plural: bool = False
    """Grammatical number of ``short`` (« les allocations familiales estimées »)."""
    extra_rules: tuple[str, ...] = field(default=())
    """Other rules its entitlement reads (the free CSS for the CSS with participation)."""
    module: str = ""
    """Rule module (rules.benefits.<module>) whose « Not modelled » paragraph the report shows; "" = ``code``."""
    simulated: bool = True
    """Whether ``simulate`` outputs it (SITUATION_FORMAT.md names a field for it)."""
    by_affiliation: bool = False
    """Paid by the person's own health insurance fund (the CSS): everyone is insured by some fund, so a person
    none of the ``payers`` knows is insured elsewhere or unmatched, and whether they receive it is unknown."""
    paid_with: str | None = None
    """Resource kind (``resources.kind``) of the pension the benefit is served with, by the fund that pays that
    pension (the ASPA with the old-age pension, CSS art. L815-7; the ASI with the invalidity pension, L815-24): a
    person another agency reports drawing it (the DRM's PASRAU line) whom none of the ``payers`` knows draws it
    from a fund whose extract did not come (or is unmatched), so whether they receive the benefit is unknown."""
    claim_layouts: tuple[str, ...] = ("caf", "msa")
    """Agencies whose extract layouts carry its claim events and objections (connectors/mappings): the one
    that instructs the claim, and the MSA for its members. Empty: no layout carries them."""
    grade_cap: tuple[str, str] | None = None
    """(best grade, French reason): a condition of the benefit no agency's data can show caps every flag."""
    resource_months: int | None = None
    """Months of resources before the month its amount or entitlement rests on (its reference period): the RSA's
    and the prime d'activité's quarter (CASF art. R262-7; CSS art. R843-1), the ASPA's and the ASI's three months
    (CSS art. R815-29), the twelve months of the CSS (CSS art. R861-8) and of the housing aid (CCH art. R822-4);
    None where the rule reads the DGFiP's year N-2 or revenu fiscal de référence (family benefits, AAH outside
    work, ARS, chèque énergie). Detection weighs a person's resource lines missing from that period with it."""
    reexamined_months: int | None = None
    """Months its payer goes on re-examining the right on its own after a re-examination gave a nil amount or one
    under the payment threshold, without a new claim: the housing aid's nine (CCH art. R823-6, al. 3: the right and
    its amount are re-examined every three months, « y compris, pendant une période qui ne peut dépasser neuf mois
    consécutifs, à la suite d'un réexamen aboutissant à un versement nul ou inférieur au seuil de versement, sans
    qu'il soit nécessaire à l'allocataire de déposer une nouvelle demande »). A famille its payer paid it in those
    months and pays nothing now is not one that fails to claim: the payer's re-examination, on data it holds
    in full, found nothing to pay (detection caps such a flag at ``possible``). None: a stop may be the person's
    (a quarterly declaration not returned, a claim not renewed), so it stays a non-take-up."""
    stop_set_aside: bool = False
    """Whether its rules set aside a resource that stops in the evaluated month itself (none that month, some the
    month before, no substitution income: the RSA, CASF art. R262-13): the month's own line, not only those of the
    reference period, then decides the amount, and a line of the month not yet in (a DSN declared late) reads as
    such a stop. Detection weighs a missing line of the month as it weighs a missing period (``_lines_behind``)."""
    means_tested: bool = True
    """Whether its right rests on the famille's resources (every benefit but the allocations familiales, whose
    amount only the resources modulate, CSS art. L521-1, and the ASF): a famille whose resources the rules cannot
    count in full (the DGFiP's declared non-salaried income, which only the rules on year N-2's resources read)
    has such a flag capped at ``possible`` by detection."""
    residence_right: str | None = None
    """Article by which its right asks an EEA or Swiss national a right of residence, besides the residence the
    rules read (the RSA: CASF art. L262-6): held by a worker, a worker's family member, an inactive person with
    sufficient resources and health insurance (CESEDA art. L233-1) or after five years (L234-1), and transmitted
    by no agency, so detection caps the flag of an inactive one of fewer years (``detect._eea_right_unshown``).
    None: no such condition, or one its earned income shows met (the prime d'activité's worker)."""
    claimed_by: str | None = None
    """Individu rule marking the members who hold it in their own name (the ASPA the person of 65 or the unfit,
    CSS art. L815-1; the ASI the invalidity pensioner, L815-24; the AAH the disabled adult, L821-1): a flag's
    claimant is such a member (the demandeur first), the person the paying fund knows and writes to, not the
    famille's allocataire, who may be the younger spouse. None: the famille's demandeur claims it."""
    granted_with: tuple[str, str, str] | None = None
    """(benefit, rule, article): a benefit whose right brings this one (the RSA the free CSS, CSS art. L861-2), and
    the famille rule of this one's own route (the free CSS's resources under its ceiling). A flag that holds only
    through the other benefit, not received, is no surer than that benefit's own flag, which detection may have
    capped for what the data cannot show (a resource line behind, a right of residence): it takes that grade."""
    young_dependant_age: str | None = None
    """Parameter of the age up to which its famille rule can count an adult dependant (persons at charge under 25
    for the RSA, the prime d'activité and the CSS; 21 for the complément familial; 20 for the AF, its forfait
    included, and the ASF; for the housing aid, whose resources count every member of the famille whatever his age
    (CCH art. R822-3), the DGFiP's own limit, 25, the oldest it attaches (CGI art. 6, 3)): a famille a young
    adult the DGFiP attaches to it may be missing from has its flags capped when that person is not older
    (detection). None: its rule counts no adult dependant (the couple's ASPA, AAH and ASI; the PAJE and the ARS, for
    younger children; the chèque énergie, from the DGFiP's own foyer)."""

    @property
    def yearly(self) -> bool:
        return self.period == "year"

    def due_month(self, month: dt.date) -> dt.date:
        """The month whose entitlement is judged in ``month``: ``month`` itself for a monthly benefit; for a
        yearly one, its last payment month at or before ``month`` (the payment already due: the ARS of the
        school year started, not the one paid next August)."""
        if not self.yearly:
            return month
        if self.payment_month is None:
            raise ValueError(f"yearly benefit {self.code!r} has no payment_month")
        year = month.year if month.month >= self.payment_month else month.year - 1
        return dt.date(year, self.payment_month, 1)

    def due_name(self, due: dt.date) -> str:
        """French name of the yearly payment due in ``due`` (« rentrée scolaire 2025-2026 »)."""
        return self.due_label.format(year=due.year, next=due.year + 1)

    @property
    def rules(self) -> tuple[str, ...]:
        """Every engine rule detection evaluates for it."""
        own = (self.rule, *((self.amount_rule,) if self.amount_rule else ()), *self.extra_rules)
        return tuple(dict.fromkeys(own))

    @property
    def rule_module(self) -> str:
        return self.module or self.code

    @property
    def payment_known(self) -> bool:
        return bool(self.payers)


CATALOGUE: tuple[Benefit, ...] = (
    Benefit("rsa", "rsa", "amount", "revenu de solidarité active (RSA)", "RSA", "rsa", "caf",
            "CASF art. L262-1 et L262-16 (CAF, MSA)", 3, payers=("caf", "msa"), resource_months=3,
            young_dependant_age="minima_sociaux.rsa.age_pac", stop_set_aside=True,
            residence_right="CASF art. L262-6"),
    Benefit("ppa", "ppa", "amount", "prime d'activité", "prime d'activité", "ppa", "caf",
            "CSS art. L841-1 et L843-1 (CAF, MSA)", 3, payers=("caf", "msa"), feminine=True, resource_months=3,
            young_dependant_age="minima_sociaux.rsa.age_pac",
            # at the month: what its flag says it would lose once a housing aid due is received (R844-3)
            extra_rules=("ppa_forfait_logement_plein", "ppa_forfait_logement")),
    Benefit("aspa", "aspa", "amount", "allocation de solidarité aux personnes âgées (ASPA)", "ASPA", "aspa",
            "cnav", "CSS art. L815-1 et L815-7 (caisses de retraite : CNAV/Carsat, MSA)", 6,
            payers=("cnav", "msa"), feminine=True, claim_layouts=("cnav", "msa"), paid_with="pension_net",
            resource_months=3, claimed_by="aspa_eligibilite", extra_rules=("aah_remplacee_par_aspa",)),
    Benefit("css_free", "css_free", "coverage", "complémentaire santé solidaire sans participation",
            "CSS sans participation", "css", "cnam", "CSS art. L861-1 et L861-4 (CPAM, MSA)", 3,
            payers=("cnam", "msa"), feminine=True, module="css", claim_layouts=("cnam", "msa"),
            by_affiliation=True, young_dependant_age="minima_sociaux.css.age_limite_pac", resource_months=12,
            extra_rules=("css_ressources_sous_plafond",),
            granted_with=("rsa", "css_ressources_sous_plafond", "CSS art. L861-2")),
    Benefit("css_participation", "css_participation", "coverage",
            "complémentaire santé solidaire avec participation", "CSS avec participation", "css", "cnam",
            "CSS art. L861-1, 2° et L861-4 (CPAM, MSA)", 3, payers=("cnam", "msa"),
            amount_rule="css_participation_monthly", excludes="css_free", extra_rules=("css_free",),
            feminine=True, module="css", claim_layouts=("cnam", "msa"),
            by_affiliation=True, young_dependant_age="minima_sociaux.css.age_limite_pac", resource_months=12),
    Benefit("aide_logement", "aide_logement", "amount", "aide personnelle au logement (APL, ALF, ALS)",
            "aide au logement", "aide_logement", "caf", "CCH art. L821-1 et L822-1 (CAF, MSA)", 3,
            payers=("caf", "msa"), unknown_caps=(("rent", "probable"),), feminine=True,
            young_dependant_age="impot_revenu.rattachement.age_limite_etudiant", resource_months=12,
            reexamined_months=9),
    Benefit("aah", "aah_famille", "amount", "allocation aux adultes handicapés (AAH)", "AAH", "aah", "caf",
            "CSS art. L821-1 et L821-7 (CAF, MSA, sur décision de la CDAPH)", 6, payers=("caf", "msa"),
            unknown_caps=(("disability_rate", "possible"),), feminine=True, claimed_by="aah_eligible"),
    Benefit("asi", "asi", "amount", "allocation supplémentaire d'invalidité (ASI)", "ASI", "asi", "cnam",
            "CSS art. L815-24 et L815-24-1 (organisme qui sert la pension d'invalidité : CPAM, MSA)", 6,
            payers=("cnam", "msa"), feminine=True, claim_layouts=("cnam", "msa"), paid_with="invalidity_pension",
            resource_months=3, claimed_by="asi_eligibilite", extra_rules=("aah_remplacee_par_asi",)),
    Benefit("af", "af_droit", "amount", "allocations familiales", "allocations familiales", "af", "caf",
            "CSS art. L521-1 et D521-1 (CAF, MSA)", 3, payers=("caf", "msa"), feminine=True,
            plural=True, module="prestations_familiales", means_tested=False,
            young_dependant_age="prestations_familiales.af.age_limite"),
    Benefit("cf", "cf", "amount", "complément familial", "complément familial", "cf", "caf",
            "CSS art. L522-1 à L522-3, R522-2, D522-1 et D522-2 (CAF, MSA)", 3, payers=("caf", "msa"),
            simulated=False, module="prestations_familiales",
            young_dependant_age="prestations_familiales.cf.age_limite"),
    Benefit("paje_base", "paje_base_droit", "amount", "allocation de base de la prestation d'accueil du jeune "
            "enfant (PAJE)", "allocation de base de la PAJE", "paje_base", "caf",
            "CSS art. L531-1, L531-3 et D531-3 (CAF, MSA)", 3, payers=("caf", "msa"), simulated=False,
            module="paje", feminine=True),
    Benefit("asf", "asf_droit", "amount", "allocation de soutien familial (ASF)", "ASF", "asf", "caf",
            "CSS art. L523-1, R523-7 et D523-3 (CAF, MSA)", 3, payers=("caf", "msa"), simulated=False,
            grade_cap=("probable", "l'ASF suppose que l'autre parent ne contribue pas à l'entretien de l'enfant "
                       "(ou moins que l'ASF) : aucune donnée ne le montre"),
            feminine=True, means_tested=False, young_dependant_age="prestations_familiales.af.age_limite"),
    Benefit("ars", "ars_annuelle", "amount", "allocation de rentrée scolaire (ARS)", "ARS", "ars", "caf",
            "CSS art. L543-1 et R543-1 à D543-2 (CAF, MSA)", 12, payers=("caf", "msa"), period="year",
            payment_month=8, due_label="rentrée scolaire {year}-{next}, versée en août {year}",
            simulate_field="ars_annual", feminine=True, module="ars"),
    Benefit("cheque_energie", "cheque_energie_annuel", "amount", "chèque énergie", "chèque énergie",
            "cheque_energie", "asp",
            "Code de l'énergie art. L124-1 et R124-1 à R124-3 (envoyé par l'ASP sur la liste établie à partir "
            "des données de la DGFiP)", 12, members_lead=None, payers=(), period="year", payment_month=4,
            due_label="chèque énergie {year}, envoyé en avril {year}", claim_layouts=(),
            simulate_field="cheque_energie_annual"),
)
"""Every benefit detection looks for, in the order of tables and reports."""

BENEFITS: tuple[str, ...] = tuple(b.code for b in CATALOGUE)
ASKED: tuple[str, ...] = tuple(dict.fromkeys(b.asked for b in CATALOGUE))
ENGINE_TARGETS: tuple[str, ...] = tuple(dict.fromkeys(r for b in CATALOGUE for r in b.rules))
AMOUNT_BENEFITS: tuple[str, ...] = tuple(b.code for b in CATALOGUE if b.kind == "amount")
_LINKED = {pair for b in CATALOGUE if b.excludes for pair in ((b.code, b.excludes), (b.excludes, b.code))}
TIERS: dict[str, tuple[str, ...]] = {
    b.code: tuple(c.code for c in CATALOGUE if c.code == b.code or (b.code, c.code) in _LINKED) for b in CATALOGUE}
"""Each benefit → the codes of the one right it is a tier of, itself included (``Benefit.excludes`` read both ways:
the free CSS and the CSS with participation are one right, claimed on one form, cerfa 12504, whose tier the CPAM
decides from the resources of the twelve months before the claim, CSS art. L861-1, L861-5 and R861-8; every other
benefit is its own right alone). A claim, refusal or closure of one tier is one of the right
(``detection.exclusions``)."""
_BY_CODE = {b.code: b for b in CATALOGUE}


def benefit(code: str) -> Benefit:
    """The catalogue row of ``code`` (KeyError naming the known codes otherwise)."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown benefit {code!r}; known: {', '.join(BENEFITS)}") from None


def payers_missing(code: str, sent: Iterable[str]) -> tuple[str, ...]:
    """The agencies paying ``code`` (its ``payers``) among which some sent an extract (``sent``) and these did not:
    its payments are then known in part (empty when every payer sent one, or none did: unknown altogether)."""
    payers = set(benefit(code).payers)
    present = payers & set(sent)
    return tuple(sorted(payers - present)) if present else ()


def by_asked(names: object) -> tuple[str, ...]:
    """The benefit codes a list of run.toml names asks for, in catalogue order."""
    wanted = set(names)  # type: ignore[call-overload]
    unknown = wanted - set(ASKED)
    if unknown:
        raise KeyError(f"unknown benefit {sorted(unknown)[0]!r}; known: {', '.join(ASKED)}")
    return tuple(b.code for b in CATALOGUE if b.asked in wanted)
