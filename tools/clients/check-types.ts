// Compiles against the TypeScript types generated from openapi/openapi.json (`make clients`), so a
// change of the document that breaks what a frontend would write fails CI.
import type { components, paths, webhooks } from "../../target/clients/typescript/sip";

type FeedPage = paths["/api/v1/events"]["get"]["responses"][200]["content"]["application/json"];
type NewPlan = components["schemas"]["PlanInput"];
type Plan = paths["/api/v1/plans/{plan_id}"]["get"]["responses"][200]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];
type Delivery = webhooks["changeEvent"]["post"]["requestBody"]["content"]["application/json"];

export const newPlan: NewPlan = {
  individual_id: "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
  need_reason: "Psychosis and substance use",
  what_matters: "To get going with work training",
  topics_to_avoid: [],
  follows_discharge: false,
};

export function lastSeq(page: FeedPage): number {
  return page.items.reduce((last, event) => Math.max(last, event.seq), page.next_after);
}

export function describe(plan: Plan): string {
  const status: components["schemas"]["PlanStatus"] = plan.status;
  return `${plan.id} is ${status} (version ${plan.version})`;
}

export function fieldsAtFault(problem: Problem): string[] {
  return (problem.errors ?? []).map((e) => e.field);
}

export function handle(delivery: Delivery): [number, string] {
  return [delivery.event.seq, delivery.event.event_type];
}

type MyPlan = paths["/api/v1/me/plans/{plan_id}"]["get"]["responses"][200]["content"]["application/json"];
type AccessExtract = paths["/api/v1/me/access-log"]["get"]["responses"][200]["content"]["application/json"];

// An e-service lays the individual's plan out from its sections.
export function headings(plan: MyPlan): string[] {
  return plan.document.sections.map((s) => s.heading);
}

export function refusedAttempts(extract: AccessExtract): number {
  return extract.items.filter((e) => e.kind === "denied").length;
}
