//! The SQLite and the PostgreSQL migrations describe one schema: the same tables, the same columns
//! with the same nullability, and the same indexes over the same columns. The code is written once
//! against both (`src/db/schema.rs`), so a column or an index added to one backend's migration and
//! forgotten in the other's is a bug this test finds before a region does.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::common::TestApp;

/// What exists on one backend only, and why. (An index's columns are listed with PostgreSQL's
/// `INCLUDE` columns after its keys: SQLite has no `INCLUDE`, its covering indexes make them keys.)
const BACKEND_SPECIFIC: &[(&str, &str)] = &[
    (
        "column change_events.recorded_at null",
        "SQLite cannot add a NOT NULL column to a table that has rows without rebuilding it; \
         every insert sets it (`src/db/schema.rs` declares it not null)",
    ),
    (
        "column change_events.recorded_at not null",
        "the same column on PostgreSQL",
    ),
    (
        "index change_events(seq) partial",
        "PostgreSQL gives feed positions after the commit and finds the events still without one \
         through it; SQLite's position is the row id",
    ),
    (
        "column audit_events.targets_about null",
        "what an access's targets are about, found by \"who has read this person's data\": \
         PostgreSQL keeps it as an array in the access's row under a GIN index (`db::audit`)",
    ),
    (
        "index audit_events(targets_about) partial",
        "the GIN index over that array",
    ),
    (
        "column audit_targets_about.about not null",
        "SQLite has no arrays to index: there it is one row a person (or plan) and access, in a \
         table that is its own index",
    ),
    (
        "column audit_targets_about.event_id not null",
        "the same table",
    ),
];

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

const SQLITE: &str = "
    SELECT 'column ' || m.name || '.' || p.name ||
           CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN ' not null' ELSE ' null' END AS line
      FROM sqlite_master m, pragma_table_xinfo(m.name) p
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
       AND m.name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT CASE WHEN il.\"unique\" THEN 'unique index ' ELSE 'index ' END || m.name || '(' ||
           (SELECT group_concat(name, ', ') FROM
              (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)) || ')' ||
           CASE WHEN il.partial THEN ' partial' ELSE '' END AS line
      FROM sqlite_master m, pragma_index_list(m.name) il
     WHERE m.type = 'table' AND il.origin <> 'pk' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
       AND m.name <> '__diesel_schema_migrations'";

const POSTGRES: &str = "
    SELECT 'column ' || table_name || '.' || column_name ||
           CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE ' null' END AS line
      FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT CASE WHEN ix.indisunique THEN 'unique index ' ELSE 'index ' END || t.relname || '(' ||
           (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
              FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || ')' ||
           CASE WHEN ix.indpred IS NOT NULL THEN ' partial' ELSE '' END AS line
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND NOT ix.indisprimary
       AND t.relname <> '__diesel_schema_migrations'";

async fn schema_of(app: &TestApp) -> BTreeSet<String> {
    app.db()
        .read(|c| {
            let lines: Vec<Line> = match c {
                sip::db::DbConn::Postgres(c) => diesel::sql_query(POSTGRES).load(c)?,
                sip::db::DbConn::Sqlite(c) => diesel::sql_query(SQLITE).load(c)?,
            };
            Ok(lines.into_iter().map(|l| l.line).collect())
        })
        .await
        .expect("the schema is readable")
}

#[actix_web::test]
async fn both_backends_migrate_to_the_same_tables_columns_and_indexes() {
    let sqlite = schema_of(&TestApp::sqlite().await).await;
    let postgres = schema_of(&TestApp::postgres().await).await;
    assert!(
        sqlite.iter().any(|l| l.starts_with("column plans.id")),
        "the schema query reads SQLite's tables: {sqlite:?}"
    );
    let allowed: BTreeSet<&str> = BACKEND_SPECIFIC.iter().map(|(line, _)| *line).collect();
    let only_in = |one: &BTreeSet<String>, other: &BTreeSet<String>| -> Vec<String> {
        one.difference(other)
            .filter(|line| !allowed.contains(line.as_str()))
            .cloned()
            .collect()
    };
    let (sqlite_only, postgres_only) = (only_in(&sqlite, &postgres), only_in(&postgres, &sqlite));
    assert!(
        sqlite_only.is_empty() && postgres_only.is_empty(),
        "the backends' migrations differ.\nonly in SQLite:\n  {}\nonly in PostgreSQL:\n  {}",
        sqlite_only.join("\n  "),
        postgres_only.join("\n  ")
    );
}

/// The access log's targets are compressed by lz4 where the server has it (migration
/// `access_targets_compressed_by_lz4`): pglz was ~3 % of all CPU under the list scenario. A
/// server without lz4 keeps pglz, and the migration still applies.
#[test]
fn the_access_targets_are_compressed_by_lz4_where_the_server_has_it() {
    #[derive(QueryableByName)]
    struct Method {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
    }
    let database = crate::common::TempPostgres::create();
    let mut c = diesel::PgConnection::establish(&database.url).unwrap();
    let has_lz4 = diesel::sql_query("CREATE TEMP TABLE lz4_probe (t text COMPRESSION lz4)")
        .execute(&mut c)
        .is_ok();
    let method = diesel::sql_query(
        "SELECT attcompression::text AS method FROM pg_attribute
          WHERE attrelid = 'audit_events'::regclass AND attname = 'targets'",
    )
    .get_result::<Method>(&mut c)
    .unwrap()
    .method;
    assert_eq!(method, if has_lz4 { "l" } else { "" });
}
