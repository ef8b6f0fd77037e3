-- A plan's summons are read with all their recipients, by plan (summons::of_plan, on every read of
-- a whole plan): without this index that read scanned every recipient of every plan.
CREATE INDEX summons_recipients_plan_idx ON summons_recipients (plan_id, summons_id, position);
