DROP INDEX plans_closed_idx;
CREATE INDEX plans_closed_idx ON plans (closed_at);
DROP INDEX plans_next_follow_up_idx;
CREATE INDEX plans_next_follow_up_idx ON plans (next_follow_up_on);
DROP INDEX plan_access_consent_idx;
CREATE INDEX plan_access_consent_idx ON plan_access (consent_id);
