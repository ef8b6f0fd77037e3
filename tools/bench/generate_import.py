#!/usr/bin/env python3
"""Writes an NDJSON import file of N plans to stdout, a line at a time (nothing held in memory).

Each plan is established and followed up once, with its next follow-up ahead: a consent, a long-term
goal and two sub-goals, five interventions (region, municipality, another actor) — the shape of the
PostgREST peer's plans in ../shared/bench (3 goals, 5 interventions) — a summons with answers, the
meeting, a held follow-up that reviews every goal and intervention. Identity numbers are the published test numbers the tests
use, never a real person's: the plans are spread over them.

    tools/bench/generate_import.py 100000 > plans.ndjson
"""
import datetime
import json
import sys

# Published test identity numbers (Skatteverket's test series), as in the tests.
PEOPLE = [("19121212-1212", "Tolvan"), ("19530901-1913", "Erik"), ("19701063-2391", "Sam")]
REGION = "SE2321000016-PSY1"
MUNICIPALITY = "SE2120001314-SOC1"
# A unit that one plan in a hundred's consent covers: a list for a unit that sees a few plans among
# many (`make bench`'s list_by_small_unit).
SMALL_UNIT = "SE2321000016-HAB1"


def unit(hsa_id, name, principal):
    return {"kind": "unit", "hsa_id": hsa_id, "name": name, "principal": principal}


def person(name, hsa_id, principal):
    return {"name": name, "hsa_id": hsa_id, "principal": principal}


def record(n, start):
    def at(day):
        return (start + datetime.timedelta(days=day)).isoformat().replace("+00:00", "Z")

    def date(day):
        return (start + datetime.timedelta(days=day)).date().isoformat()

    number, given = PEOPLE[n % len(PEOPLE)]
    parties = [unit(REGION, "Psykiatrisk öppenvård", "region"),
               unit(MUNICIPALITY, "Socialtjänsten", "municipality"),
               {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}]
    return {
        "external_id": f"bench-{n}",
        "individual": {"external_id": f"person-{number}",
                       "details": {"identity_number": number, "given_name": given, "family_name": "Testsson"}},
        "plan": {"opened_at": at(0), "initiating_unit": {"hsa_id": REGION, "principal": "region"},
                 "need_reason": "Needs from psychiatry and social services at once",
                 "what_matters": "To get going with work training"},
        "consents": [{"external_id": "c-1", "recorded_at": at(1), "consent": {
            "outcome": "given", "form": "written", "givers": [{"role": "individual"}],
            "covered_parties": parties + ([unit(SMALL_UNIT, "Habiliteringen", "region")]
                                          if n % 100 == 0 else []),
            "permissions": {"share_information": True, "send_summons": True, "establish_plan": True},
            "valid_from": date(1), "valid_until": date(700)}}],
        "goals": [
            {"external_id": "g-1", "goal": {"text": "Work training"}},
            {"external_id": "g-2", "goal": {"text": "Up and ready in the morning", "measure": "days a week",
                                            "parent_id": "g-1"}}],
        "interventions": [
            {"external_id": "i-1", "intervention": {"description": "Case manager weekly", "goal_ids": ["g-2"],
                                                    "responsible": "region", "responsible_unit": REGION,
                                                    "frequency": "weekly"},
             "status_history": [{"at": at(25), "change": {"status": "ongoing"}}]},
            {"external_id": "i-2", "intervention": {"description": "Housing support", "goal_ids": ["g-1"],
                                                    "responsible": "municipality",
                                                    "responsible_unit": MUNICIPALITY}},
            {"external_id": "i-3", "intervention": {"description": "Work-training place", "goal_ids": ["g-1"],
                                                    "responsible": "other",
                                                    "responsible_actor": "Arbetsförmedlingen"}}],
        "summons": [{"external_id": "s-1", "sent_at": at(3), "summons": {
            "purpose": "To get going with work training", "questions": ["Who supports the mornings?"],
            "meeting": {"starts_at": at(15), "place": "Vårdcentralen", "form": "premises"},
            "recipients": parties},
            "answers": [
                {"recipient": REGION, "answered_at": at(4), "answer": {"response": "accepted", "attendees": ["Anna"]}},
                {"recipient": MUNICIPALITY, "answered_at": at(5),
                 "answer": {"response": "accepted", "attendees": ["Bo"]}}]}],
        "meeting": {
            "summons_id": "s-1", "held_at": at(15),
            "leader": person("Anna Lind", REGION, "region"),
            "secretary": person("Bo Ek", MUNICIPALITY, "municipality"),
            "participants": [person("Anna Lind", REGION, "region"), person("Bo Ek", MUNICIPALITY, "municipality")],
            "attendance": [{"recipient_id": REGION, "attended": True},
                           {"recipient_id": MUNICIPALITY, "attended": True},
                           {"recipient_id": "Arbetsförmedlingen", "attended": True}],
            "coordinator": person("Anna Lind", REGION, "region"),
            "responsible_principal": "municipality",
            "individual_agreed": True, "individual_received_plan": True, "sip_survey_offered": True,
            "visible_in_1177": True,
            "first_follow_up": {"date": date(60), "place": "Vårdcentralen"}},
        "follow_ups": [
            {"external_id": "f-1", "record": {
                "held_on": date(60),
                "goal_outcomes": [{"goal_id": "g-1", "outcome": "partly_fulfilled"},
                                  {"goal_id": "g-2", "outcome": "fulfilled"}],
                "intervention_reviews": [{"intervention_id": "i-1", "carried_out": True},
                                         {"intervention_id": "i-2", "carried_out": True},
                                         {"intervention_id": "i-3", "carried_out": True}],
                "decision": "continue", "next_follow_up": {"date": date(200), "place": "Video"}}},
            {"external_id": "f-2"}],
    }


def record_like_peer(n, start):
    """`record` with a third goal and two more interventions, reviewed at the follow-up."""
    r = record(n, start)
    r["goals"].append({"external_id": "g-3", "goal": {"text": "A stable home", "parent_id": "g-1"}})
    r["interventions"] += [
        {"external_id": "i-4", "intervention": {"description": "Medication follow-up", "goal_ids": ["g-3"],
                                                "responsible": "region", "responsible_unit": REGION,
                                                "frequency": "monthly"}},
        {"external_id": "i-5", "intervention": {"description": "Home-help visits", "goal_ids": ["g-3"],
                                                "responsible": "municipality",
                                                "responsible_unit": MUNICIPALITY}}]
    follow_up = r["follow_ups"][0]["record"]
    follow_up["goal_outcomes"].append({"goal_id": "g-3", "outcome": "partly_fulfilled"})
    follow_up["intervention_reviews"] += [{"intervention_id": "i-4", "carried_out": True},
                                          {"intervention_id": "i-5", "carried_out": True}]
    return r


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    # Began 120 days ago: the next follow-up (day 200) lies ahead, as the process requires.
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=120)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    out = sys.stdout
    for n in range(count):
        out.write(json.dumps(record_like_peer(n, start), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
