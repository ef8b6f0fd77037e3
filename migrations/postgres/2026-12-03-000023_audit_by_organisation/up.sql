-- An organisation's log follow-up (`GET /api/v1/audit-events`) reads its own records, not the
-- whole log. Its page asked for the records of units `LIKE 'SE…-%'` in id order, which no index
-- answers: the database walked the log from the cursor to its end whenever the organisation had
-- fewer records than a page after it — 0.5–0.7 s for a municipality at 4,000,000 records
-- (`BENCHMARKS.md`, nineteenth session), and more with every record any organisation logs.
--
-- A unit's organisation is its HSA-id's first twelve characters (`SE` and ten digits, before the
-- hyphen; `HsaId::organisation`), so the page now asks for `substr(unit, 1, 12) = …`, this index
-- in id order. `db::audit` writes the expression exactly as here: both databases use an index on
-- an expression only for that expression.
CREATE INDEX audit_events_organisation_idx ON audit_events (substr(unit, 1, 12), id);

-- A search for a protected person's identity number by another organisation is shown to the
-- organisation that registered her (`db::audit::HIDDEN_MATCHES`): the page's second question,
-- over a handful of records among millions. Partial, so other records cost it nothing.
CREATE INDEX audit_events_hidden_matches_idx ON audit_events (id)
    WHERE action IN ('search_denied', 'register_denied');
