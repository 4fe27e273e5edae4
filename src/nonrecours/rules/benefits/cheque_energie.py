"""Chèque énergie (Code de l'énergie art. L124-1 and R124-1 to R124-3): a yearly amount for the household
that occupies its dwelling (tenant or owner: not a foyer resident, not a person housed free of charge),
by its revenu fiscal de référence of year N-2 per unit of consumption (1 for the first person, 0.5 for the
second, 0.3 for each other), on the scale of the arrêté of 6 May 2016 as amended. Since the end of the
taxe d'habitation the cheque is no longer sent to every newly eligible household: they must claim it.

The household is the famille (a famille hosted by another is housed free of charge: not eligible); its
RFR is the sum over the foyers fiscaux of its declarants.

Not modelled: residents of an EHPAD or a foyer-logement (they receive it through their establishment),
households that filed no tax return (no RFR), capital income beyond what the RFR of the DGFiP holds.
"""

from __future__ import annotations

from nonrecours.rules.dsl import Famille, condition, maximum, param, rule, where

__all__: list[str] = []

CE = "cheque_energie"
OCCUPANTS = ("tenant", "tenant_furnished", "social_tenant", "owner", "owner_with_loan")
"""Housing statuses whose household pays the energy of its dwelling."""


@rule(entity="famille", dtype="float", label="chèque énergie: unités de consommation du ménage",
      ref="Code de l'énergie art. R124-2")
def cheque_energie_uc(f: Famille):
    n = f.count(where=f.members.est_parent | f.members.est_enfant)
    return (param(f"{CE}.uc_premiere_personne")
            + where(n >= 2, param(f"{CE}.uc_deuxieme_personne"), 0.0)
            + where(n > 2, n - 2, 0) * param(f"{CE}.uc_autres_personnes"))


@rule(entity="famille", dtype="float", label="chèque énergie: revenu fiscal de référence N-2 du ménage",
      ref="Code de l'énergie art. R124-2; CGI art. 1417 IV")
def cheque_energie_rfr(f: Famille):
    """Each foyer counted once: a declarant carries its foyer's RFR divided by the foyer's declarants."""
    m = f.members
    declarant = m.foyer_fiscal_role == "declarant"
    part = m.foyer_fiscal.rfr_n2 / maximum(m.foyer_fiscal.rfr_nb_declarants, 1)
    return f.sum(where(declarant, part, 0.0), where=declarant)


def _bareme(classe: str, rfr_uc):  # type: ignore[no-untyped-def]
    def montant(k: int):  # type: ignore[no-untyped-def]
        return param(f"{CE}.montant.{classe}_tranche_{k}")
    return where(rfr_uc < param(f"{CE}.seuil_1"), montant(1),
                 where(rfr_uc < param(f"{CE}.seuil_2"), montant(2),
                       where(rfr_uc < param(f"{CE}.seuil_3"), montant(3),
                             where(rfr_uc < param(f"{CE}.plafond"), montant(4), 0.0))))


@rule(entity="famille", dtype="float", label="chèque énergie de l'année (annuel)",
      ref="Code de l'énergie art. L124-1, R124-1 et R124-2; arrêté du 6 mai 2016 modifié")
def cheque_energie_annuel(f: Famille):
    """The two conditions are labelled so that a flag's reasons say which held (at April of the year judged)."""
    uc = f.cheque_energie_uc
    rfr_uc = f.cheque_energie_rfr / uc
    occupe = condition("occupe son logement (locataire ou propriétaire)", f.statut_occupation.is_in(list(OCCUPANTS)),
                       ref="Code de l'énergie art. L124-1 et R124-1")
    sous_plafond = condition("revenu fiscal de référence N-2 par unité de consommation sous le plafond",
                             rfr_uc < param(f"{CE}.plafond"), ref="Code de l'énergie art. R124-2; arrêté du 6 mai 2016")
    montant = where(uc <= 1, _bareme("une_uc", rfr_uc),
                    where(uc < 2, _bareme("moins_de_deux_uc", rfr_uc), _bareme("deux_uc_ou_plus", rfr_uc)))
    return where(occupe & sous_plafond, montant, 0.0)
