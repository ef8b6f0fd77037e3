#!/usr/bin/env python3
"""Validates FHIR R4 bundles with an independent model library: fhir.resources 6.1 (FHIR 4.0.1,
pinned in tools/fhir-requirements.txt). Reads one bundle, or a JSON array of bundles, on stdin.
Prints each problem and exits 1 if there is any.

Beyond parsing every resource with the library's models (types, cardinalities, unknown elements),
it checks what those models leave out, from the FHIR R4 specification itself: the codes of the
required bindings the service uses, that every reference resolves inside the bundle, and the
invariants ppc-1, app-3 and cpl-3.
"""
import json
import sys

import fhir.resources
from fhir.resources.bundle import Bundle

# Required bindings (FHIR R4 4.0.1): resource, path -> the allowed codes.
REQUIRED = {
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response", "batch",
                         "batch-response", "history", "searchset", "collection"},
    ("CarePlan", "status"): {"draft", "active", "on-hold", "revoked", "completed",
                             "entered-in-error", "unknown"},
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("CarePlan", "activity.detail.status"): {"not-started", "scheduled", "in-progress", "on-hold",
                                             "completed", "cancelled", "stopped", "unknown",
                                             "entered-in-error"},
    ("CarePlan", "activity.detail.kind"): {"Appointment", "CommunicationRequest", "DeviceRequest",
                                           "MedicationRequest", "NutritionOrder", "Task",
                                           "ServiceRequest", "VisionPrescription"},
    ("CareTeam", "status"): {"proposed", "active", "suspended", "inactive", "entered-in-error"},
    ("Goal", "lifecycleStatus"): {"proposed", "planned", "accepted", "active", "on-hold",
                                  "completed", "cancelled", "entered-in-error", "rejected"},
    ("ServiceRequest", "status"): {"draft", "active", "on-hold", "revoked", "completed",
                                   "entered-in-error", "unknown"},
    ("ServiceRequest", "intent"): {"proposal", "plan", "directive", "order", "original-order",
                                   "reflex-order", "filler-order", "instance-order", "option"},
    ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive",
                            "entered-in-error"},
    ("Consent", "provision.type"): {"deny", "permit"},
    ("Consent", "provision.provision.type"): {"deny", "permit"},
    ("Appointment", "status"): {"proposed", "pending", "booked", "arrived", "fulfilled",
                                "cancelled", "noshow", "entered-in-error", "checked-in",
                                "waitlist"},
    ("Appointment", "participant.required"): {"required", "optional", "information-only"},
    ("Appointment", "participant.status"): {"accepted", "declined", "tentative", "needs-action"},
    ("DocumentReference", "status"): {"current", "superseded", "entered-in-error"},
    ("DocumentReference", "docStatus"): {"preliminary", "final", "amended", "entered-in-error"},
    ("Bundle", "entry.search.mode"): {"match", "include", "outcome"},
    ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
    ("AuditEvent", "outcome"): {"0", "4", "8", "12"},
    ("Bundle", "link.relation"): None,
}

# Codings whose code system is fixed by a required binding.
GOAL_ACHIEVEMENT = {"in-progress", "improving", "worsening", "no-change", "achieved", "sustaining",
                    "not-achieved", "no-progress", "not-attainable"}


def values(node, path):
    """Every value at a dotted path, through lists."""
    if node is None:
        return []
    if isinstance(node, list):
        return [v for item in node for v in values(item, path)]
    if not path:
        return [node]
    head, _, rest = path.partition(".")
    return values(node.get(head) if isinstance(node, dict) else None, rest)


def references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def check(bundle):
    problems = []
    try:
        Bundle.parse_obj(bundle)
    except Exception as error:  # the library's own report names each element at fault
        problems.append(f"fhir.resources rejects the bundle: {error}")
    full_urls = {entry.get("fullUrl") for entry in bundle.get("entry", [])}
    resources = [bundle] + [entry.get("resource", {}) for entry in bundle.get("entry", [])]
    for resource in resources:
        kind = resource.get("resourceType")
        where = f"{kind}/{resource.get('id')}"
        for (rtype, path), allowed in REQUIRED.items():
            if rtype == kind and allowed is not None:
                for value in values(resource, path):
                    if value not in allowed:
                        problems.append(f"{where}: {path} = {value!r} is not in its required value set")
        if kind == "Goal":
            for code in values(resource, "achievementStatus.coding.code"):
                if code not in GOAL_ACHIEVEMENT:
                    problems.append(f"{where}: achievementStatus {code!r} is not a goal-achievement code")
        if kind == "Consent" and not (resource.get("policy") or resource.get("policyRule")):
            problems.append(f"{where}: ppc-1 needs policy or policyRule")
        if kind == "Appointment" and resource.get("status") not in ("proposed", "cancelled", "waitlist"):
            if not (resource.get("start") and resource.get("end")):
                problems.append(f"{where}: app-3 needs start and end for status {resource.get('status')}")
        if kind == "CarePlan":
            for activity in resource.get("activity", []):
                if "detail" in activity and "reference" in activity:
                    problems.append(f"{where}: cpl-3 an activity has a reference or a detail, not both")
    for ref in references(bundle.get("entry", [])):
        if ref.startswith("urn:uuid:") and ref not in full_urls:
            problems.append(f"reference {ref} does not resolve inside the bundle")
    return problems


def main():
    if fhir.resources.__fhir_version__ != "4.0.1":
        print(f"the validator models FHIR {fhir.resources.__fhir_version__}, not R4 4.0.1")
        return 1
    data = json.load(sys.stdin)
    bundles = data if isinstance(data, list) else [data]
    failed = False
    for i, bundle in enumerate(bundles):
        for problem in check(bundle):
            failed = True
            print(f"bundle {i} ({bundle.get('id')}): {problem}")
    print(f"{len(bundles)} bundle(s) checked against FHIR {fhir.resources.__fhir_version__}: "
          + ("problems found" if failed else "valid"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
