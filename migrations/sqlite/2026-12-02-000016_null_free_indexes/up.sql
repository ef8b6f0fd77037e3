-- Indexes on columns that stay empty for most of a row's life hold only the rows that have a
-- value: a plan is closed once, has a next follow-up only once it is established, and most grants
-- are the initiating unit's, of no consent. Every plan INSERT and every (non-HOT) plan UPDATE used
-- to write a NULL entry into each of them. The queries that use them compare the column
-- (`closed_at >= …`, `next_follow_up_on < …`, `consent_id IN (…)`), which implies it is not NULL,
-- so both databases' planners still choose them.
DROP INDEX plans_closed_idx;
CREATE INDEX plans_closed_idx ON plans (closed_at) WHERE closed_at IS NOT NULL;
DROP INDEX plans_next_follow_up_idx;
CREATE INDEX plans_next_follow_up_idx ON plans (next_follow_up_on) WHERE next_follow_up_on IS NOT NULL;
DROP INDEX plan_access_consent_idx;
CREATE INDEX plan_access_consent_idx ON plan_access (consent_id) WHERE consent_id IS NOT NULL;
