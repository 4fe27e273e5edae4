"""Two reductions of the housing aid the law does not make (outside testers, 7 December 2026), each against the
amount the law gives and the same household the reduction never concerned:

- CCH art. D823-16: no degressivity of high rents where the demandeur or the partner receives the AAH (probe20: a
  person at 80 % on the AAH, rent 1,300 € in Paris, got 28 € instead of 343 €);
- CCH art. L442-2-1: no RLS overseas, where the APL does not exist (probe21: a social tenant in La Réunion got
  234 € instead of the 282 € of the same person renting privately)."""

from __future__ import annotations

from tests.rules.benefits.evaluated import rules_by_situation

RULES = ["aide_logement", "al_exempt_loyer_eleve", "al_reduction_loyer_solidarite"]


def _one(s: dict) -> tuple:
    return rules_by_situation([s], RULES, s["month"])[s["id"]]


def _paris(sid: str, rent: float, persons: list[dict], **kw) -> dict:
    return {"id": sid, "month": "2025-06", "depcom": "75056", "housing": {"status": "tenant", "rent": rent},
            "persons": persons, **kw}


def test_the_aah_spares_the_degressivity_of_high_rents() -> None:
    aah = _one(_paris("aah", 1300, [{"role": "parent", "age": 40, "disability_rate": 0.8}]))
    assert aah == (343.0, True, 0.0)  # the aid before degressivity, as OpenFisca gives it with its `handicap`
    # the partner's AAH spares it too; a worker without it at the same rent has the aid reduced
    partner = _one(_paris("partner", 1500, [{"role": "parent", "age": 41, "monthly": {"salary_net": 1000}},
                                            {"role": "parent", "age": 40, "disability_rate": 0.8}],
                          couple="married"))
    assert partner[:2] == (280.0, True)
    plain = _one(_paris("plain", 1300, [{"role": "parent", "age": 40}]))
    assert plain[1] is False and plain[0] < 343.0
    # at a rent under the degressivity threshold the exemption changes nothing
    low = _one(_paris("low", 500, [{"role": "parent", "age": 40, "disability_rate": 0.8}]))
    assert low[1] is True and low[0] > 0


def test_no_rls_overseas() -> None:
    def single(sid: str, depcom: str, status: str) -> dict:
        return {"id": sid, "month": "2025-05", "depcom": depcom, "housing": {"status": status, "rent": 400},
                "persons": [{"role": "parent", "age": 30}]}

    social, private = _one(single("reu_social", "97411", "social_tenant")), _one(single("reu", "97411", "tenant"))
    assert social == (282.0, False, 0.0) and private[0] == 282.0
    # in mainland France the same social tenant still has his RLS, and the aid is reduced by 98 % of it
    mainland = _one(single("cahors_social", "46042", "social_tenant"))
    assert mainland[2] > 0 and mainland[0] < _one(single("cahors", "46042", "tenant"))[0]
