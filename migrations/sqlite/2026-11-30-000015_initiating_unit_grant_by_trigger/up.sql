-- The unit that opens a plan sees it from then on: its grant in plan_access is written by the
-- plan's own INSERT (as on PostgreSQL, where it saves a statement and a round trip).
CREATE TRIGGER plans_grant_initiating_unit
    AFTER INSERT ON plans
BEGIN
    INSERT INTO plan_access (plan_id, unit) VALUES (NEW.id, NEW.initiating_unit);
END;
