-- The unit that opens a plan sees it from then on: its grant in plan_access is written by the
-- plan's own INSERT (a row trigger runs inside that statement), so creating a plan is one
-- statement and one round trip fewer than inserting the grant from the service.
CREATE FUNCTION grant_initiating_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO plan_access (plan_id, unit) VALUES (NEW.id, NEW.initiating_unit);
    RETURN NULL;
END
$$;

CREATE TRIGGER plans_grant_initiating_unit
    AFTER INSERT ON plans
    FOR EACH ROW EXECUTE FUNCTION grant_initiating_unit();
