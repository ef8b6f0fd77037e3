ALTER TABLE plans DROP COLUMN consent_windows;
