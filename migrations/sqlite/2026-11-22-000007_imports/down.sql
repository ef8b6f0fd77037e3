DROP TABLE import_keys;
DROP TABLE import_records;
DROP TABLE imports;
