DROP INDEX plans_closed_idx;
DROP INDEX follow_ups_scheduled_idx;
DROP INDEX meetings_held_idx;
DROP TABLE deviations;
