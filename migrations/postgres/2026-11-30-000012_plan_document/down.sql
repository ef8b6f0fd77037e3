DROP FUNCTION plan_document_rows(TEXT, TEXT);
