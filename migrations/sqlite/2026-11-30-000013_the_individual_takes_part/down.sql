DROP TABLE survey_answers;
DROP TABLE survey_code_issues;
DROP TABLE survey_codes;
DROP TABLE summons_preparations;
DROP INDEX guardians_identity_number_idx;
DROP INDEX consent_givers_identity_number_idx;
ALTER TABLE consent_givers DROP COLUMN identity_number;
