"""The agencies' names for people: one table (reason lines, outreach facts and the report read it)."""

from __future__ import annotations

from nonrecours.schemas.codes import AGENCIES, AGENCY_LABELS, CLAIM_ONLY_AGENCIES, agency_of, agency_subject


def test_every_agency_has_one_public_name_and_its_french_forms():
    assert set(AGENCY_LABELS) == {*AGENCIES, *CLAIM_ONLY_AGENCIES}
    assert agency_subject("asp") == "l'ASP"
    assert agency_subject("caf") == "la CAF" and agency_subject("cnav") == "l'Assurance retraite"
    assert agency_subject("france_travail") == "France Travail"
    assert agency_of("cnam") == "de l'Assurance maladie" and agency_of("dgfip") == "de la DGFiP"
    assert agency_of("drm") == "du DRM de l'Assurance retraite" and agency_of("france_travail") == "de France Travail"
    assert agency_of("synth") == "des données synthétiques"
