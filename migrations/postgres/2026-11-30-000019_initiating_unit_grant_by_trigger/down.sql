DROP TRIGGER plans_grant_initiating_unit ON plans;
DROP FUNCTION grant_initiating_unit();
