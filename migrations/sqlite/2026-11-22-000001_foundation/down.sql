DROP TABLE change_events;
DROP TABLE consent_parties;
DROP TABLE consent_givers;
DROP TABLE consents;
DROP TABLE plans;
DROP TABLE guardians;
DROP TABLE individuals;
