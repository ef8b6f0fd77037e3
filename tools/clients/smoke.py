#!/usr/bin/env python3
"""A journal system's first steps, written with the Python client generated from
openapi/openapi.json (`make clients`), against the running service (SIP_URL, SIP_TOKEN from
tools/with-service.sh): register an individual, open a plan, record a consent, read the whole plan,
and follow the change feed — then, as the individual's e-service (SIP_INDIVIDUAL_TOKEN), read the
plan, the consent and the access log, and withdraw the consent. A change of the API that breaks the client fails CI here.
"""
import datetime
import os
import sys

from sip_client import AuthenticatedClient
from sip_client.api.consents import record_consent
from sip_client.api.events import read_change_feed
from sip_client.api.individuals import create_individual
from sip_client.api.me import get_me, get_my_access_log, get_my_plan, list_my_consents, list_my_plans, withdraw_my_consent
from sip_client.api.plans import create_plan, get_plan_document, get_plan_fhir
from sip_client.models import (
    AccessExtract,
    FeedPage,
    Individual,
    IndividualInput,
    Me,
    MyConsent,
    MyConsents,
    MyPlan,
    MyPlans,
    MyWithdrawal,
    NewConsent,
    Plan,
    PlanDocument,
    PlanInput,
)


def expect(response, status, kind):
    if response.status_code != status or not isinstance(response.parsed, kind):
        sys.exit(f"expected {status} {kind.__name__}, got {response.status_code}: {response.content[:500]!r}")
    return response.parsed


def follow_feed(client, after):
    """Reads the feed from `after` until caught up, as a journal system does."""
    events = []
    while True:
        page = expect(read_change_feed.sync_detailed(client=client, after=after, limit=100), 200, FeedPage)
        events.extend(page.items)
        after = page.next_after
        if not page.items and page.next_after >= page.head:
            return events, after


def main():
    client = AuthenticatedClient(base_url=os.environ["SIP_URL"], token=os.environ["SIP_TOKEN"])
    unit = "SE2321000016-CLI1"
    _, start = follow_feed(client, 0)

    lisa = expect(
        create_individual.sync_detailed(
            client=client,
            body=IndividualInput.from_dict(
                # A published test personnummer, never a real person's.
                {"identity_number": "19121212-1212", "given_name": "Lisa", "family_name": "Testsson"}
            ),
        ),
        201,
        Individual,
    )
    plan = expect(
        create_plan.sync_detailed(
            client=client,
            # Ids are UUIDs in every model: the individual's id goes in as it came out.
            body=PlanInput(
                individual_id=lisa.id,
                need_reason="Psychosis and substance use: needs from psychiatry and social services at once",
                what_matters="To get going with work training",
            ),
        ),
        201,
        Plan,
    )
    today = datetime.date.today()
    consent = record_consent.sync_detailed(
        plan_id=plan.id,
        client=client,
        body=NewConsent.from_dict(
            {
                "outcome": "given",
                "form": "written",
                "givers": [{"role": "individual"}],
                "covered_parties": [
                    {"kind": "unit", "hsa_id": unit, "name": "Psykiatrisk öppenvård", "principal": "region"},
                    {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten", "principal": "municipality"},
                ],
                "permissions": {"share_information": True, "send_summons": True, "establish_plan": True},
                "valid_from": today.isoformat(),
                "valid_until": (today + datetime.timedelta(days=365)).isoformat(),
            }
        ),
    )
    if consent.status_code != 201:
        sys.exit(f"recording the consent failed: {consent.status_code} {consent.content[:500]!r}")

    document = expect(get_plan_document.sync_detailed(plan_id=plan.id, client=client), 200, PlanDocument)
    assert document.plan.id == plan.id
    assert document.plan.status.value == "consented", document.plan.status
    assert document.individual.id == lisa.id
    assert len(document.consents) == 1 and document.consents[0].active

    fhir = get_plan_fhir.sync_detailed(plan_id=plan.id, client=client)
    assert fhir.status_code == 200, fhir.status_code
    assert fhir.headers["content-type"] == "application/fhir+json"

    events, head = follow_feed(client, start)
    kinds = [e.event_type.value for e in events]
    assert kinds == ["individual.created", "plan.created", "consent.recorded", "plan.consent_recorded"], kinds
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), seqs
    assert all(e.unit == unit for e in events)
    idle = expect(read_change_feed.sync_detailed(client=client, after=head, wait=1), 200, FeedPage)
    assert not idle.items

    # Lisa, through her e-service.
    me = AuthenticatedClient(base_url=os.environ["SIP_URL"], token=os.environ["SIP_INDIVIDUAL_TOKEN"])
    who = expect(get_me.sync_detailed(client=me), 200, Me)
    assert [p.acting_as.value for p in who.acting_for] == ["themselves"], who
    mine = expect(list_my_plans.sync_detailed(client=me), 200, MyPlans)
    assert [p.id for p in mine.items] == [plan.id], mine
    read = expect(get_my_plan.sync_detailed(plan_id=plan.id, client=me), 200, MyPlan)
    assert any(s.heading == "Ditt samtycke" for s in read.document.sections)
    consents = expect(list_my_consents.sync_detailed(plan_id=plan.id, client=me), 200, MyConsents)
    withdrawn = expect(
        withdraw_my_consent.sync_detailed(
            plan_id=plan.id, consent_id=consents.items[0].id, client=me, body=MyWithdrawal()
        ),
        200,
        MyConsent,
    )
    assert not withdrawn.active
    log = expect(get_my_access_log.sync_detailed(client=me), 200, AccessExtract)
    assert any(e.kind.value == "read" and e.by.value == "unit" for e in log.items), log

    print(f"python client: registered {lisa.id}, opened and consented plan {plan.id}, read it whole "
          f"and as FHIR, followed {len(events)} events to position {head}; as Lisa's e-service read "
          f"the plan, withdrew the consent and read {len(log.items)} accesses in her access log")


if __name__ == "__main__":
    main()
