"""The law's tables cover every benefit the catalogue detects: an outreach row of any benefit names where to
claim it at the agency that contacts the person, the fields of its claim and the questions no data answers."""

from __future__ import annotations

from nonrecours.outputs.law import CHANNELS, CLAIM_FIELDS, QUESTIONS, claim_fields_frame
from nonrecours.schemas.benefits import CATALOGUE


def test_every_benefit_has_a_channel_at_each_agency_that_may_contact_for_it_and_its_claim_fields():
    """The PAJE allocation de base and the ASF had none: their outreach rows carried no channel."""
    for b in CATALOGUE:
        leads = {b.lead} | ({b.members_lead} if b.members_lead else set())
        for agency in leads:
            assert CHANNELS.get((b.code, agency)), (b.code, agency)
        assert b.code in CLAIM_FIELDS, b.code
        assert any(q[0] == b.code for q in QUESTIONS), b.code
    fields = claim_fields_frame()
    assert set(fields.get_column("benefit")) >= {b.code for b in CATALOGUE}
