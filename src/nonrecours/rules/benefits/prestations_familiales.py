"""Family benefits as resources of the minima sociaux.

RSA and prime d'activité count the family benefits the famille receives, but not all of them nor at the
amount paid (CASF art. R262-10 and R262-10-1; CSS art. R844-4 and R844-5):

- allocations familiales: only the base amount, without the age majorations and the age-20 flat
  allocation. The CAF extract gives the total paid, so the base is its share in the total rate
  (majorations and flat allocation are modulated by the same coefficient as the base);
- allocation de soutien familial: a flat amount per child (22.5 % of the BMAF), whatever was paid;
- complément familial: computed here (CSS art. L522-1 to L522-3): three children aged 3 to 20, resources
  of year N-2 under a ceiling (just above it, a differential amount), the majorated rate under half the
  ceiling; it is not paid with the PAJE allocation de base (CSS art. L532-1). In Guadeloupe, Martinique,
  Guyane and La Réunion one child aged 3 to 5 opens it when no child is under 3, under the ARS ceiling, at
  the rates of CSS art. D755-6 and D755-6-1 (CSS art. L755-16). Only its non-majorated amount counts for
  RSA and prime d'activité, and it is the amount computed here, even where the CAF's extract reports the
  CF paid (it is a benefit detection looks for, schemas.benefits): a famille that does not claim it is
  counted the CF due, as the RSA's subsidiarity asks the claimant to claim the family benefits due
  (CASF art. L262-10), and the reference situations (SITUATION_FORMAT.md) state no CF paid.

Resources are those of year N-2 of each month (taxable income, less the 10 % deduction for expenses),
read from the ``*_imposable(s)_n2`` inputs.

Not modelled: children placed with the aide sociale à l'enfance, alternating residence (the allowances
shared between the parents), the family benefits of Mayotte, capital income.
"""

from __future__ import annotations

import datetime as dt

from nonrecours.rules.benefits.common import NAISSANCE_INCONNUE, au_mois
from nonrecours.rules.dsl import (
    Famille,
    FoyerFiscal,
    Individu,
    abs_,
    condition,
    maximum,
    mean_over,
    minimum,
    month_of,
    month_start,
    param,
    round_,
    rule,
    where,
    year_of,
)

__all__: list[str] = []

PF = "prestations_familiales"


def _ir_n2(name: str):  # type: ignore[no-untyped-def]
    """An income-tax parameter of the income year N-2."""
    return au_mois(param(f"impot_revenu.{name}"), 1, annees=-2)


@rule(entity="individu", dtype="bool", label="autonomie financière: passé l'âge de fin de l'obligation scolaire (16 "
      "ans), rémunération moyenne des six mois précédents d'au moins 55 % du SMIC mensuel (SMIC horaire x 169)",
      ref="CSS art. L512-3 et R512-2; code de l'éducation art. L131-1")
def autonomie_financiere(i: Individu):
    """A child earning that much is no longer a dependant for family benefits (nor, as the CAF applies it,
    for RSA and prime d'activité). The net salary is compared with the gross SMIC, as the reference model
    does (the text speaks of "rémunération"). The ceiling applies only "après la fin de l'obligation
    scolaire" (L512-3, 2°): until then every child opens the right whatever it earns (L512-3, 1°; the
    obligation ends at 16, code de l'éducation art. L131-1)."""
    seuil = (param(f"{PF}.autonomie_financiere.taux_smic") * param("marche_travail.smic.horaire_brut")
             * param(f"{PF}.autonomie_financiere.heures_smic"))
    apres_obligation = i.age_mois >= param(f"{PF}.autonomie_financiere.age_fin_obligation_scolaire")
    return apres_obligation & (mean_over(i.salary_net, -6, -1) >= seuil)


@rule(entity="individu", dtype="bool", label="enfant ouvrant droit aux allocations familiales (moins de 20 ans, "
      "sans autonomie financière)", ref="CSS art. L512-3 et R512-2")
def af_enfant(i: Individu):
    return i.est_enfant & (i.age_mois < param(f"{PF}.af.age_limite")) & ~i.autonomie_financiere


@rule(entity="famille", dtype="int", label="nombre d'enfants ouvrant droit aux allocations familiales")
def af_nb_enfants(f: Famille):
    return f.count(where=f.members.af_enfant)


@rule(entity="famille", dtype="float", label="taux de base des allocations familiales (en BMAF)",
      ref="CSS art. D521-1; D755-5 (outre-mer)")
def af_taux_base(f: Famille):
    n = f.af_nb_enfants
    metropole = where(n >= 2, param(f"{PF}.af.taux_deux_enfants")
                      + param(f"{PF}.af.taux_enfant_supplementaire") * maximum(n - 2, 0), 0.0)
    un_enfant_dom = f.menage.residence_dom & (n == 1)
    return where(un_enfant_dom, param(f"{PF}.af.taux_un_enfant_dom"), metropole)


@rule(entity="famille", dtype="int", label="âge du plus âgé des enfants ouvrant droit aux allocations familiales")
def af_age_aine(f: Famille):
    return f.max(f.members.age_mois, where=f.members.af_enfant)


@rule(entity="individu", dtype="bool", label="enfant le plus âgé (en années) de la famille", ref="CSS art. L521-3")
def af_aine(i: Individu):
    return i.af_enfant & (i.age_mois == i.famille.af_age_aine)


@rule(entity="individu", dtype="int", label="âge d'ouverture de la majoration pour âge des allocations familiales",
      ref="CSS art. R521-1", end="2026-02-28", name="af_age_ouverture_majoration")
def af_age_ouverture_majoration_14_ans(i: Individu):
    return param(f"{PF}.af.age_majoration")


@rule(entity="individu", dtype="int", label="âge d'ouverture de la majoration pour âge des allocations familiales "
      "(18 ans, 14 ans pour les enfants nés avant le 1er mars 2012)",
      ref="CSS art. R521-1 (décret n° 2026-138 du 27 février 2026)", start="2026-03-01",
      name="af_age_ouverture_majoration")
def af_age_ouverture_majoration_18_ans(i: Individu):
    """The décret keeps 14 for a child whose 14th birthday came before 1 March 2026. Without a birth date,
    the year of birth is estimated from the age (born before March 2012 when the estimated year is earlier)."""
    annee_estimee = year_of(month_start()) - i.age
    ancien_selon_age = (annee_estimee < 2012) | ((annee_estimee == 2012) & (month_of(month_start()) < 3))
    ancien = where(i.date_naissance > NAISSANCE_INCONNUE, i.date_naissance < dt.date(2012, 3, 1), ancien_selon_age)
    return where(ancien, param(f"{PF}.af.age_majoration_ancien_regime"), param(f"{PF}.af.age_majoration"))


@rule(entity="famille", dtype="int", label="nombre d'enfants ouvrant droit à la majoration pour âge",
      ref="CSS art. L521-3, R521-1 et D521-2")
def af_nb_majorations(f: Famille):
    n = f.af_nb_enfants
    m = f.members
    age_ok = m.age_mois >= m.af_age_ouverture_majoration
    n_maj = f.count(where=m.af_enfant & age_ok)
    # with exactly two children "le plus âgé" gets no majoration (CSS L521-3): twins, or two children of the
    # same age in years, are both the eldest (the reference model's reading; an age in years cannot part them)
    aines_maj = f.count(where=m.af_aine & age_ok)
    return where(n >= 2, n_maj - where(n == 2, aines_maj, 0), 0)


@rule(entity="famille", dtype="int", label="nombre d'enfants de 20 ans ouvrant l'allocation forfaitaire",
      ref="CSS art. L521-1 et D521-2")
def af_nb_forfait(f: Famille):
    """A child who reaches the age limit, without financial autonomy, in a famille of at least three children
    (those of 20 counted)."""
    n = f.af_nb_enfants
    n_vingt_ans = f.count(where=f.members.est_enfant & (f.members.age_mois == param(f"{PF}.af.age_limite"))
                          & ~f.members.autonomie_financiere)
    return where(n + n_vingt_ans >= 3, n_vingt_ans, 0)


@rule(entity="famille", dtype="float", label="outre-mer: majoration pour âge d'un enfant unique (en BMAF)",
      ref="CSS art. L755-11 et D755-5, II")
def af_taux_majoration_enfant_unique_dom(f: Famille):
    m = f.members
    dom = f"{PF}.af.dom"
    taux = where(m.age_mois >= param(f"{dom}.enfant_unique_age_2"), param(f"{dom}.enfant_unique_taux_2"),
                 where(m.age_mois >= param(f"{dom}.enfant_unique_age_1"), param(f"{dom}.enfant_unique_taux_1"), 0.0))
    return where(f.af_enfant_unique_dom, f.sum(taux, where=m.af_enfant), 0.0)


@rule(entity="famille", dtype="bool", label="outre-mer: un seul enfant à charge au sens des allocations familiales",
      ref="CSS art. L755-11 et L755-12")
def af_enfant_unique_dom(f: Famille):
    """Overseas the AF are due from the first child (L755-11); for a single child at charge the last four
    paragraphs of L521-1 (the modulation by resources, its ceilings, the complément dégressif) do not apply
    (L755-12, second paragraph), and its majoration for age is the overseas one (D755-5, II)."""
    return condition("outre-mer, un seul enfant à charge", f.menage.residence_dom & (f.af_nb_enfants == 1),
                     ref="CSS art. L755-12")


@rule(entity="famille", dtype="float", label="taux des majorations pour âge (en BMAF)",
      ref="CSS art. L521-3, D521-2 et D755-5, II")
def af_taux_majorations_age(f: Famille):
    return f.af_nb_majorations * param(f"{PF}.af.taux_majoration_age") + f.af_taux_majoration_enfant_unique_dom


@rule(entity="famille", dtype="float", label="taux des majorations pour âge et de l'allocation forfaitaire (en BMAF)",
      ref="CSS art. L521-1, L521-3, D521-1 et D521-2")
def af_taux_majorations(f: Famille):
    return f.af_taux_majorations_age + f.af_nb_forfait * param(f"{PF}.af.taux_forfait_20_ans")


@rule(entity="famille", dtype="float", label="taux total des allocations familiales du mois (en BMAF)",
      ref="CSS art. D521-1 et D521-2")
def af_taux_total(f: Famille):
    return f.af_taux_base + f.af_taux_majorations


@rule(entity="famille", dtype="float", label="allocations familiales de base retenues (hors majorations)",
      ref="CASF art. R262-10 et R262-11, 3°; CSS art. R844-5, D521-1 et D521-3")
def af_base(f: Famille):
    """The base part of the allowances paid, which RSA and prime d'activité count without the majorations pour âge
    and the allocation forfaitaire (CASF art. R262-11, 3°), at most the amount paid. Its modulation rate (1, 1/2 or
    1/4, CSS art. D521-3) is the one the payment shows when the payment is a modulated total of the month (the
    base, with or without the majorations, with or without the forfait, within 1 % or 1 €: a rate read from the
    resources of year N-2 the agencies may not have); otherwise the resources' rate (``af_droit_base``). A payment
    that is no such total, such as the base of the two children the CAF knows out of three, or a base without
    the age majoration, is not a reduced rate of a total it does not hold: 151.80 € paid for children of 15, 12
    and 9 was read as a quarter of 422.19 € (86.57 € counted; an outside tester, 6 December 2026). Computed with
    each month's BMAF, so that the April revaluation reaches the reference months of RSA and prime d'activité."""
    bmaf = param(f"{PF}.bmaf")
    base = bmaf * f.af_taux_base
    majorations = bmaf * f.af_taux_majorations_age
    forfait = bmaf * (f.af_taux_majorations - f.af_taux_majorations_age)
    af = f.af_retenues
    shown, best = f.af_droit_base, 1e12
    for paid_total in (base, base + majorations, base + forfait, base + majorations + forfait):
        # the rates by resources (CSS art. D521-1, I, 1° to 3°), the parameters ``_modulation_af`` reads
        for rate in (1.0, param(f"{PF}.af.modulation.taux_tranche_2"), param(f"{PF}.af.modulation.taux_tranche_3")):
            gap = abs_(af - rate * paid_total)
            fits = (gap <= maximum(1.0, 0.01 * rate * paid_total)) & (gap < best)
            shown = where(fits, rate * base, shown)
            best = where(fits, gap, best)
    return where((af > 0) & (bmaf * f.af_taux_total > 0), minimum(af, shown), 0.0)


def _forfait_asf(f: Famille, asf):  # type: ignore[no-untyped-def]
    """22.5 % of the BMAF per child who can open the ASF, at most ``asf`` (CASF art. R262-10-1)."""
    par_enfant = param(f"{PF}.bmaf") * param("minima_sociaux.rsa.forfait_asf_taux")
    n = f.count(where=f.members.af_enfant)
    return where(asf > 0, minimum(asf, n * par_enfant), 0.0)


@rule(entity="famille", dtype="float", label="ASF retenue forfaitairement (22,5 % de la BMAF par enfant, au plus "
      "l'ASF versée)", ref="CASF art. R262-10-1; CSS art. R844-4")
def rsa_forfait_asf(f: Famille):
    """The forfait per child who can open the ASF (under the family-benefit age limit), capped by what is paid:
    a differential ASF below the forfait counts for what it is. The number of children is read from the
    composition, not from the paid amount (the BMAF of a past month differs from the month the amount was
    stated in)."""
    return _forfait_asf(f, f.asf_retenue)


# -- complément familial --------------------------------------------------------------------------------

@rule(entity="individu", dtype="float", label="revenu net catégoriel annuel de l'année de référence (N-2)",
      ref="CSS art. R532-3")
def pf_base_ressources_individu(i: Individu):
    """Net of the deductions of the income tax (CGI art. 83, 3° and 158, 5-a): 10 % of earnings and
    unemployment benefit, at least the year's minimum and at most its maximum; 10 % of pensions, at least
    the minimum per pensioner, within the foyer's ceiling (shared in proportion to each one's abatement)."""
    pensions = i.pensions_n2
    abattement = minimum(round_(maximum(param("impot_revenu.deductions.pensions_taux") * pensions,
                                        _ir_n2("deductions.pensions_min"))), pensions)
    return i.pf_revenu_professionnel + pensions - abattement * i.foyer_fiscal.pf_part_abattement_pensions


@rule(entity="individu", dtype="float", label="revenus professionnels de l'année N-2: activité et chômage après "
      "déduction de 10 %, bénéfices non salariés", ref="CSS art. R532-3; CGI art. 83, 3°")
def pf_revenu_professionnel(i: Individu):
    """The non-salaried profits are net already: no deduction for professional expenses on them."""
    activite = i.revenu_activite_n2
    deduction = round_(minimum(maximum(param(f"{PF}.base_ressources.abattement_frais") * activite,
                                       _ir_n2("deductions.frais_professionnels_min")),
                               _ir_n2("deductions.frais_professionnels_max")))
    return maximum(activite - where(activite > 0, deduction, 0.0), 0.0) + i.revenus_non_salaries_n2_retenus


@rule(entity="foyer_fiscal", dtype="float", label="part de l'abattement de 10 % sur les pensions dans le plafond du "
      "foyer", ref="CGI art. 158, 5-a")
def pf_part_abattement_pensions(ff: FoyerFiscal):
    m = ff.members
    total = ff.sum(minimum(round_(maximum(param("impot_revenu.deductions.pensions_taux") * m.pensions_n2,
                                          _ir_n2("deductions.pensions_min"))), m.pensions_n2))
    plafond = _ir_n2("deductions.pensions_max")
    return where(total > plafond, plafond / where(total > 0, total, 1.0), 1.0)


@rule(entity="individu", dtype="bool", label="enfant à charge au sens du complément familial (moins de 21 ans)",
      ref="CSS art. L522-1 et R512-2")
def cf_enfant_a_charge(i: Individu):
    return i.est_enfant & (i.age_mois < param(f"{PF}.cf.age_limite")) & ~i.autonomie_financiere


@rule(entity="famille", dtype="float", label="complément familial: ressources de l'année de référence",
      ref="CSS art. R532-3")
def cf_base_ressources(f: Famille):
    m = f.members
    return f.sum(m.pf_base_ressources_individu, where=m.est_parent | m.cf_enfant_a_charge)


@rule(entity="famille", dtype="float", label="complément familial: plafond de ressources (montant de base)",
      ref="CSS art. R522-2")
def cf_plafond(f: Famille):
    """The majoration for a lone parent or a couple where each member had a professional income of at least
    twelve BMAF in the reference year is the allocation de base's (``pf_biactifs_ou_isole``: earnings and
    unemployment benefit of year N-2 after the 10 % deduction, against the BMAF of 1 January of that year;
    CSS art. R522-2, the PAJE's ceilings being the same, L531-3). In Guadeloupe, Martinique, Guyane and La
    Réunion the ceiling is that of the allocation de rentrée scolaire: a base raised by 30 % per child at
    charge (CSS art. L755-16, R543-6)."""
    m = f.members
    n_charge = f.count(where=m.cf_enfant_a_charge)
    majoration = where(f.pf_biactifs_ou_isole, param(f"{PF}.cf.majoration_biactifs_isoles"), 0.0)
    metropole = param(f"{PF}.cf.plafond_base") * (
        1 + param(f"{PF}.cf.majoration_deux_premiers_enfants") * minimum(n_charge, 2)
        + param(f"{PF}.cf.majoration_enfant_supplementaire") * maximum(n_charge - 2, 0)) + majoration
    dom = param(f"{PF}.cf.dom.plafond_base") * (1 + param(f"{PF}.cf.dom.majoration_par_enfant") * n_charge)
    return where(f.menage.residence_dom, dom, metropole)


@rule(entity="famille", dtype="float", label="complément familial non majoré (avant non-cumul)",
      ref="CSS art. L522-1, L522-2, R522-2 et D522-1")
def cf_non_majore_avant_cumul(f: Famille):
    m = f.members
    n_eligibles = f.count(where=m.cf_enfant_a_charge & (m.age_mois >= param(f"{PF}.cf.age_min")))
    metropole = ~f.menage.residence_dom & (n_eligibles >= param(f"{PF}.cf.nb_enfants_min"))
    n_dom = f.count(where=m.cf_enfant_a_charge & (m.age_mois >= param(f"{PF}.cf.dom.age_min"))
                    & (m.age_mois < param(f"{PF}.cf.dom.age_max")))
    n_moins_3_ans = f.count(where=m.est_enfant & (m.age_mois < param(f"{PF}.cf.age_min")))
    dom = f.menage.residence_dom & (n_dom >= 1) & (n_moins_3_ans == 0)
    # one labelled condition: a famille's reasons name the composition that opens the CF where it lives, not
    # the other territory's as « non remplie »
    composition = condition("au moins trois enfants à charge de 3 à 20 ans (dans un DOM : un enfant de 3 à 5 ans et "
                            "aucun de moins de 3 ans)", metropole | dom, ref="CSS art. L522-1, L755-16 et D755-6")
    ressources = f.cf_base_ressources
    plafond = f.cf_plafond
    taux = where(f.menage.residence_dom, param(f"{PF}.cf.dom.taux"), param(f"{PF}.cf.taux"))
    montant = param(f"{PF}.bmaf") * taux
    # just above the ceiling, a differential amount (CSS art. L522-2)
    sous_plafond = condition("ressources de l'année de référence sous le plafond, ou au-dessus de moins de douze "
                             "mois de complément (montant différentiel)",
                             ressources < plafond + 12 * montant, ref="CSS art. L522-2 et R522-2")
    differentiel = maximum((plafond + 12 * montant - ressources) / 12, 0.0)
    return where(composition & sous_plafond,
                 where(ressources <= plafond, montant, minimum(differentiel, montant)), 0.0)


@rule(entity="famille", dtype="float", label="complément familial majoré (avant non-cumul)",
      ref="CSS art. L522-3 et D522-2")
def cf_majore_avant_cumul(f: Famille):
    """Paid instead of the base amount when resources are under half the ceiling."""
    plafond_majore = f.cf_plafond * param(f"{PF}.cf.part_plafond_majore")
    eligible = (f.cf_non_majore_avant_cumul > 0) & (f.cf_base_ressources <= plafond_majore)
    taux = where(f.menage.residence_dom, param(f"{PF}.cf.dom.taux_majore"), param(f"{PF}.cf.taux_majore"))
    return where(eligible, param(f"{PF}.bmaf") * taux, 0.0)


@rule(entity="famille", dtype="float", label="complément familial", ref="CSS art. L522-1 et L532-1")
def cf(f: Famille):
    """The majorated amount when due; not paid together with the PAJE allocation de base (CSS art. L532-1), neither
    where it is paid nor where it is due: a famille of three children of 3 and over and a baby, paid neither, is
    due the allocation de base, not both (an outside tester's probe14, H3b: both flagged `certain`, the outreach
    row 298.75 € a month too high; OpenFisca gives the PAJE alone, as the RSA's subsidiarity line reads it)."""
    montant = maximum(f.cf_non_majore_avant_cumul, f.cf_majore_avant_cumul)
    sans_paje = condition("pas d'allocation de base de la PAJE, versée ou due (elle ne se cumule pas avec le "
                          "complément familial)", (f.paje_base_retenue <= 0) & (f.paje_base_droit <= 0),
                          ref="CSS art. L532-1")
    return where(sans_paje, round_(montant, 2), 0.0)


@rule(entity="famille", dtype="float", label="complément familial retenu pour les autres prestations (versé quand "
      "il est connu, sinon le droit calculé)", ref="CSS art. R861-8; CASF art. R262-10; CSS art. R844-5")
def cf_retenu(f: Famille):
    """The CSS counts the resources received (CSS art. R861-8), the prime d'activité and the RSA the benefits
    paid: a complément familial due but never claimed is no resource (a Guadeloupe famille of three children, paid
    its AF and not the CF, lost its free CSS to 3,561 € it never had; a tester's household, 5 December 2026)."""
    return where(f.cf_versee_connue, maximum(f.cf_versee, 0.0), f.cf)


@rule(entity="famille", dtype="float", label="complément familial compté dans les ressources du RSA et de la prime "
      "d'activité (son montant non majoré)", ref="CASF art. R262-10-1; CSS art. R844-5")
def cf_compte_minima(f: Famille):
    """The base amount (the differential one under it), never the majoration: of the computed complément, or of
    the one paid when it is known, up to the base amount."""
    taux = where(f.menage.residence_dom, param(f"{PF}.cf.dom.taux"), param(f"{PF}.cf.taux"))
    base = param(f"{PF}.bmaf") * taux
    calcule = where(f.cf > 0, f.cf_non_majore_avant_cumul, 0.0)
    return where(f.cf_versee_connue, minimum(f.cf_retenu, base), calcule)


@rule(entity="famille", dtype="float", label="prestations familiales comptées dans les ressources du RSA et de la "
      "prime d'activité", ref="CASF art. R262-10 et R262-10-1; CSS art. R844-4 et R844-5")
def pf_retenues_minima(f: Famille):
    return f.paje_base_retenue + f.rsa_forfait_asf + minimum(f.af_base, f.af_retenues) + f.cf_compte_minima


@rule(entity="famille", dtype="float", label="prestations familiales comptées dans les ressources du RSA quand le "
      "foyer fait valoir ses droits: chacune versée ou, si elle est plus grande, due",
      ref="CASF art. L262-10, R262-10 et R262-10-1")
def pf_dues_minima(f: Famille):
    """``pf_retenues_minima`` with each benefit at the larger of its payment and its entitlement
    (``pf_calculees_minima``): the complément familial only where no allocation de base is paid or due (CSS
    art. L532-1)."""
    paje = maximum(f.paje_base_retenue, f.paje_base_droit)
    cf = where(paje <= 0, maximum(f.cf_compte_minima, f.cf_non_majore_avant_cumul), 0.0)
    af = maximum(minimum(f.af_base, f.af_retenues), f.af_droit_base)
    return paje + _forfait_asf(f, maximum(f.asf_retenue, f.asf_droit)) + af + cf


@rule(entity="famille", dtype="float", label="prestations familiales du mois calculées (droits), comptées dans les "
      "ressources du RSA quand les versements du mois lui-même ne sont pas connus",
      ref="CASF art. R262-10 et R262-10-1")
def pf_calculees_minima(f: Famille):
    """The family benefits the RSA counts, from the entitlements we compute for the month: a reference situation
    states its payments for the months before its month only (SITUATION_FORMAT.md: the month itself is
    computed), so the RSA of that month counts the allowances due in it, as its forfait logement counts the
    housing aid computed for it (``rsa_forfait_logement``). The base part of the allocations familiales
    (CASF art. R262-10), the ASF forfait (R262-10-1), the PAJE allocation de base, and the complément
    familial's non-majorated amount when no allocation de base is due (CSS art. L532-1)."""
    cf_retenu = where(f.paje_base_droit <= 0, f.cf_non_majore_avant_cumul, 0.0)
    return f.paje_base_droit + _forfait_asf(f, f.asf_droit) + f.af_droit_base + cf_retenu


# -- allocations familiales computed ----------------------------------------------------------------------

@rule(entity="famille", dtype="float", label="prestations familiales: ressources de l'année de référence (N-2)",
      ref="CSS art. R532-1 et R532-3")
def pf_base_ressources(f: Famille):
    """Revenu net catégoriel of year N-2 of the parents and of the children at charge in the sense of the
    family benefits in general: under 20 and not financially autonomous (CSS art. L512-3, R512-2). A child of
    20 is at charge for the complément familial only (under 21, L522-1), whose own base counts them
    (``cf_base_ressources``); the allocations familiales, the allocation de base and the ARS do not."""
    m = f.members
    return f.sum(m.pf_base_ressources_individu, where=m.est_parent | m.af_enfant)


def _plafond_af(rang: int, n_enfants):  # type: ignore[no-untyped-def]
    return (param(f"{PF}.af.modulation.plafond_tranche_{rang}")
            + maximum(n_enfants, 0) * param(f"{PF}.af.modulation.majoration_par_enfant"))




def _modulation_af(f: Famille, n_enfants):  # type: ignore[no-untyped-def]
    ressources = f.pf_base_ressources
    taux = where(ressources <= _plafond_af(1, n_enfants), 1.0,
                 where(ressources <= _plafond_af(2, n_enfants), param(f"{PF}.af.modulation.taux_tranche_2"),
                       param(f"{PF}.af.modulation.taux_tranche_3")))
    return where(f.af_enfant_unique_dom, 1.0, taux)


@rule(entity="famille", dtype="float", label="allocations familiales: montant de base modulé",
      ref="CSS art. L521-1, L755-12, D521-1 et D521-3")
def af_droit_base(f: Famille):
    """The base amount (rounded to the cent), times 1, 1/2 or 1/4 as the resources of year N-2 exceed none,
    one or both ceilings (raised per child at charge); never modulated overseas for a single child (L755-12)."""
    montant = round_(param(f"{PF}.bmaf") * f.af_taux_base, 2)
    return montant * _modulation_af(f, f.af_nb_enfants)


@rule(entity="famille", dtype="float", label="allocations familiales: majorations pour âge modulées",
      ref="CSS art. L521-3, D521-1 et D521-2")
def af_droit_majorations(f: Famille):
    montant = param(f"{PF}.bmaf") * f.af_taux_majorations_age
    return where(f.af_droit_base > 0, montant * _modulation_af(f, f.af_nb_enfants), 0.0)


@rule(entity="famille", dtype="float",
      label="allocations familiales: allocation forfaitaire (enfant de 20 ans) modulée",
      ref="CSS art. L521-1, D521-1 et D521-2")
def af_droit_forfait(f: Famille):
    montant = round_(param(f"{PF}.bmaf") * param(f"{PF}.af.taux_forfait_20_ans"), 2) * f.af_nb_forfait
    return montant * _modulation_af(f, f.af_nb_enfants + f.af_nb_forfait)


@rule(entity="famille", dtype="float", label="allocations familiales: dépassement mensuel du plafond franchi",
      ref="CSS art. L521-1 et D521-3")
def af_depassement_mensuel(f: Famille):
    ressources = f.pf_base_ressources
    n = f.af_nb_enfants
    au_dela_1 = maximum(ressources - _plafond_af(1, n), 0.0)
    au_dela_2 = maximum(ressources - _plafond_af(2, n), 0.0)
    return where(au_dela_2 > 0, au_dela_2, au_dela_1) / 12


@rule(entity="famille", dtype="float", label="allocations familiales: complément dégressif",
      ref="CSS art. L521-1 (dernier alinéa), L755-11, L755-12 et D521-3")
def af_droit_complement_degressif(f: Famille):
    """Just above a ceiling the allowances are not cut at once: the family gets what the lower rate would
    have given less the monthly overshoot. Overseas too (L755-11 applies L521-1 there), except for a single child
    at charge, whose allowance has neither ceiling nor complement (L755-12, second paragraph)."""
    depassement = f.af_depassement_mensuel
    allocations = maximum(f.af_droit_base + f.af_droit_majorations - depassement, 0.0)
    forfait = maximum(f.af_droit_forfait - depassement, 0.0)
    return where(~f.af_enfant_unique_dom & (depassement > 0), allocations + forfait, 0.0)


@rule(entity="famille", dtype="float", label="allocations familiales (montant du droit, mensuel)",
      ref="CSS art. L521-1 à L521-3, D521-1 à D521-3")
def af_droit(f: Famille):
    return f.af_droit_base + f.af_droit_majorations + f.af_droit_forfait + f.af_droit_complement_degressif


@rule(entity="famille", dtype="float", label="allocations familiales retenues pour les autres prestations "
      "(versées quand elles sont connues, sinon le droit calculé)", ref="CASF art. R262-10; CSS art. R844-5")
def af_retenues(f: Famille):
    """What the CAF pays is used when the payments are known (the extract, a situation's benefits_paid);
    without them the computed entitlement stands in."""
    return where(f.prestations_versees_connues, f.af, f.af_droit)
