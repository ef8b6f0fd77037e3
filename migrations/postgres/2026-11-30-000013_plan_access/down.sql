DROP TABLE plan_access;
