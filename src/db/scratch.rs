//! A scratch database: an in-memory SQLite database with the service's own schema, where the bulk
//! import replays a new record through the use cases — every process rule, the same code as the
//! API — without a round trip to the service's database for each of the record's ~150 reads and
//! writes. What the replay wrote is then moved to the service's database set-based: one
//! multi-row `INSERT` per table for a whole batch of records ([`Scratch::move_into`]).
//!
//! The scratch holds only the batch's new plans and what they need to be replayed: the individuals
//! they belong to are borrowed from the service's database ([`Scratch::borrow_individual`]) and
//! never moved back. The access-log rows and change events of the replayed changes never land in
//! the scratch: the import keeps them (`journal::kept`) and stores them in the service's database
//! itself, where the feed gives them their positions and the access log its chain.
//!
//! Rows travel as one JSON array per table (`json_group_array` here, `json_populate_recordset` on
//! PostgreSQL, `json_each` on SQLite): both schemas name every column alike, and each column's text
//! form (timestamps, dates, 0/1 for booleans) is what the other backend reads.

use super::native::NativeRunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use diesel_migrations::MigrationHarness;

use super::DbConn;
use crate::error::{Error, Result};

/// The tables a record's replay writes, parents before children, and which of their rows move.
const MOVED: &[(&str, Option<&str>)] = &[
    ("plans", None),
    ("consents", None),
    ("consent_givers", None),
    ("consent_parties", None),
    // The initiating unit's grant is written by the plan's own INSERT (a trigger on both
    // backends): only the grants of consents move.
    ("plan_access", Some("consent_id IS NOT NULL")),
    ("goals", None),
    ("interventions", None),
    ("intervention_goals", None),
    ("summons", None),
    ("summons_recipients", None),
    ("summons_preparations", None),
    ("meetings", None),
    ("follow_ups", None),
    ("plan_revisions", None),
    ("closure_notices", None),
    ("deviations", None),
    ("import_keys", None),
];

/// Borrowed from the service's database for a replay, and never moved back.
const BORROWED: &[&str] = &["guardians", "individuals"];

/// Tables a record's replay never writes: the journal's (kept and stored by the import itself),
/// the import's own bookkeeping, webhooks and the individuals' survey. A replay that wrote one
/// would fail its record (the scratch refuses the write: see `Scratch::open`).
const NOT_WRITTEN: &[&str] = &[
    "audit_events",
    "audit_targets_about",
    "audit_seals",
    "change_events",
    "imports",
    "import_records",
    "subscriptions",
    "webhook_deliveries",
    "webhook_attempts",
    "survey_codes",
    "survey_answers",
    "survey_code_issues",
];

/// One moved table: the statements that read its rows here and write them there.
struct Table {
    name: &'static str,
    /// `SELECT` of the rows to move as one JSON array.
    rows_as_json: String,
    inserts: std::sync::Arc<Inserts>,
}

/// The `INSERT` of a table's rows as one JSON array, on PostgreSQL (`$1`) and on SQLite (`?`).
struct Inserts {
    into_postgres: String,
    into_sqlite: String,
}

/// A scratch's rows, read out of it ([`Scratch::take_rows`]) and not yet in the database.
pub struct Rows {
    /// Each table that had rows, parents before children (by its place in [`MOVED`]), with its
    /// rows as one JSON array.
    tables: Vec<(usize, std::sync::Arc<Inserts>, String)>,
}

impl Rows {
    /// These rows and `other`'s (another scratch's), to be inserted together: one statement per
    /// table for both, still parents before children. A table's rows from the two need no order
    /// among themselves: each plan's rows are all in one scratch, and a row's references are
    /// checked when the statement ends.
    pub fn join(self, other: Rows) -> Rows {
        let mut tables = Vec::with_capacity(self.tables.len().max(other.tables.len()));
        let mut ours = self.tables.into_iter().peekable();
        let mut theirs = other.tables.into_iter().peekable();
        loop {
            let next = match (ours.peek(), theirs.peek()) {
                (Some(a), Some(b)) if a.0 == b.0 => match (ours.next(), theirs.next()) {
                    (Some((place, inserts, mut rows)), Some((_, _, more))) => {
                        // Two JSON arrays, neither empty (`read_rows` keeps no empty one).
                        rows.pop();
                        rows.push(',');
                        rows.push_str(&more[1..]);
                        Some((place, inserts, rows))
                    }
                    _ => None,
                },
                (Some(a), Some(b)) if a.0 < b.0 => ours.next(),
                (Some(_), Some(_)) => theirs.next(),
                (Some(_), None) => ours.next(),
                (None, _) => theirs.next(),
            };
            match next {
                Some(table) => tables.push(table),
                None => break,
            }
        }
        Rows { tables }
    }

    /// Inserts the rows into `to`, one statement per table, parents before children; how many
    /// statements that took.
    pub fn insert_into(self, to: &mut DbConn) -> Result<usize> {
        let statements = self.tables.len();
        for (_, inserts, rows) in self.tables {
            let insert = match to {
                DbConn::Postgres(_) => &inserts.into_postgres,
                DbConn::Sqlite(_) => &inserts.into_sqlite,
            };
            diesel::sql_query(insert)
                .bind::<Text, _>(&rows)
                .execute_native(to)?;
        }
        Ok(statements)
    }
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    /// Part of the primary key (1, 2, …) or not (0).
    #[diesel(sql_type = Integer)]
    pk: i32,
    #[diesel(sql_type = Text)]
    r#type: String,
}

#[derive(QueryableByName)]
struct JsonRows {
    #[diesel(sql_type = Text)]
    rows: String,
}

pub struct Scratch {
    conn: DbConn,
    tables: Vec<Table>,
}

fn fault(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("the import's scratch database: {what}: {error}"))
}

impl Scratch {
    /// An empty scratch database with the service's SQLite schema.
    pub fn open() -> Result<Scratch> {
        let mut conn = diesel::SqliteConnection::establish(":memory:")
            .map_err(|e| fault("cannot be opened", e))?;
        conn.run_pending_migrations(super::SQLITE_MIGRATIONS)
            .map_err(|e| fault("its schema", e))?;
        // Foreign keys are the service's database's to check, when the rows arrive there: a
        // borrowed individual may name a record (`duplicate_of`) that is not borrowed. So are the
        // CHECK constraints, which every moved row meets again on its way in: SQLite builds each
        // `CHECK (status IN (…))` of three or more values as a temporary B-tree, anew for every
        // row written — three for each of the ~15 times a replay saves its plan.
        conn.batch_execute("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;")
            .map_err(|e| fault("its settings", e))?;
        let mut conn = DbConn::Sqlite(conn);
        let mut not_written = String::new();
        for table in NOT_WRITTEN {
            not_written.push_str(&format!(
                "CREATE TRIGGER scratch_refuses_{table} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'a record replay wrote {table}'); END;"
            ));
        }
        conn.batch_execute(&not_written)
            .map_err(|e| fault("its guards", e))?;
        let mut tables = Vec::with_capacity(MOVED.len());
        for (name, filter) in MOVED {
            let columns: Vec<Column> = diesel::sql_query(format!("PRAGMA table_info({name})"))
                .load_native(&mut conn)
                .map_err(|e| fault("its columns", e))?;
            // An integer primary key of its own is the database's to number (plan_access.id).
            let columns: Vec<String> = columns
                .into_iter()
                .filter(|c| !(c.pk == 1 && c.r#type.eq_ignore_ascii_case("integer")))
                .map(|c| c.name)
                .collect();
            tables.push(Table::new(name, &columns, *filter));
        }
        Ok(Scratch { conn, tables })
    }

    /// The scratch database, for the use cases a record is replayed through.
    pub fn conn(&mut self) -> &mut DbConn {
        &mut self.conn
    }

    /// Copies an individual and their guardians from the service's database, once per batch, so
    /// that a plan for them can be replayed here.
    pub fn borrow_individual(&mut self, from: &mut DbConn, id: &str) -> Result<()> {
        use super::schema::individuals;
        let here: i64 = individuals::table
            .filter(individuals::id.eq(id))
            .count()
            .get_result_native(&mut self.conn)?;
        if here > 0 {
            return Ok(());
        }
        let individual = super::individuals::find(from, id)?
            .ok_or_else(|| Error::Internal("an imported plan's individual is missing".into()))?;
        let guardians = super::individuals::guardians_of(from, id)?;
        self.lend(&super::individuals::IndividualRecord {
            individual,
            guardians,
        })
    }

    /// Puts an individual the import just read or wrote into the scratch (see `borrow_individual`).
    pub fn lend(&mut self, record: &super::individuals::IndividualRecord) -> Result<()> {
        use super::schema::{guardians, individuals};
        let id = &record.individual.id;
        diesel::delete(guardians::table.filter(guardians::individual_id.eq(id)))
            .execute_native(&mut self.conn)?;
        diesel::delete(individuals::table.filter(individuals::id.eq(id)))
            .execute_native(&mut self.conn)?;
        diesel::insert_into(individuals::table)
            .values(&record.individual)
            .execute_native(&mut self.conn)?;
        for guardian in &record.guardians {
            diesel::insert_into(guardians::table)
                .values(guardian)
                .execute_native(&mut self.conn)?;
        }
        Ok(())
    }

    /// Moves every row the replays wrote into `to`, one statement per table that has rows, and
    /// empties the scratch. Runs in `to`'s transaction: a failure leaves `to` as it was when
    /// the caller rolls back, and the scratch emptied.
    pub fn move_into(&mut self, to: &mut DbConn) -> Result<usize> {
        self.take_rows()?.insert_into(to)
    }

    /// Every row the replays wrote, read out as one JSON array per table that has rows, and the
    /// scratch emptied — the half of a move that needs only the scratch, so that it can run on the
    /// scratch's own thread while another thread holds the database (`Rows::insert_into`).
    pub fn take_rows(&mut self) -> Result<Rows> {
        let read = self.read_rows();
        self.clear()?;
        read
    }

    fn read_rows(&mut self) -> Result<Rows> {
        let mut tables = Vec::new();
        for (place, table) in self.tables.iter().enumerate() {
            let JsonRows { rows } = diesel::sql_query(&table.rows_as_json)
                .get_result_native(&mut self.conn)
                .map_err(|e| fault(table.name, e))?;
            if rows != "[]" {
                tables.push((place, table.inserts.clone(), rows));
            }
        }
        Ok(Rows { tables })
    }

    /// Empties the scratch (children before parents).
    pub fn clear(&mut self) -> Result<()> {
        let mut sql = String::new();
        for (name, _) in MOVED.iter().rev() {
            sql.push_str(&format!("DELETE FROM {name};"));
        }
        for name in BORROWED {
            sql.push_str(&format!("DELETE FROM {name};"));
        }
        self.conn
            .batch_execute(&sql)
            .map_err(|e| fault("emptying it", e))
    }
}

impl Table {
    fn new(name: &'static str, columns: &[String], filter: Option<&str>) -> Table {
        let list = columns.join(", ");
        let pairs: Vec<String> = columns.iter().map(|c| format!("'{c}', {c}")).collect();
        let rows_as_json = format!(
            "SELECT coalesce(json_group_array(json_object({})), '[]') AS rows FROM {name}{}",
            pairs.join(", "),
            filter.map(|f| format!(" WHERE {f}")).unwrap_or_default()
        );
        let into_postgres = format!(
            "INSERT INTO {name} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{name}, $1::json)"
        );
        let extracts: Vec<String> = columns
            .iter()
            .map(|c| format!("json_extract(value, '$.{c}')"))
            .collect();
        let into_sqlite = format!(
            "INSERT INTO {name} ({list}) SELECT {} FROM json_each(?)",
            extracts.join(", ")
        );
        Table {
            name,
            rows_as_json,
            inserts: std::sync::Arc::new(Inserts {
                into_postgres,
                into_sqlite,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two scratches' rows joined: each table once, in the tables' order, with both arrays' rows.
    #[test]
    fn rows_joined_keep_the_tables_order_and_every_row() {
        let inserts = std::sync::Arc::new(Inserts {
            into_postgres: String::new(),
            into_sqlite: String::new(),
        });
        let rows = |tables: &[(usize, &str)]| Rows {
            tables: tables
                .iter()
                .map(|(place, json)| (*place, inserts.clone(), json.to_string()))
                .collect(),
        };
        let joined = rows(&[(0, r#"[{"a":1}]"#), (3, r#"[{"d":1}]"#), (5, "[1]")])
            .join(rows(&[(1, r#"[{"b":2}]"#), (3, r#"[{"d":2},{"d":3}]"#)]));
        let tables: Vec<(usize, &str)> = joined
            .tables
            .iter()
            .map(|(place, _, json)| (*place, json.as_str()))
            .collect();
        assert_eq!(
            tables,
            vec![
                (0, r#"[{"a":1}]"#),
                (1, r#"[{"b":2}]"#),
                (3, r#"[{"d":1},{"d":2},{"d":3}]"#),
                (5, "[1]"),
            ]
        );
        assert!(rows(&[]).join(rows(&[])).tables.is_empty());
    }

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// Every table of the schema is either moved, borrowed or one a replay cannot write: a new
    /// table cannot be forgotten by the import.
    #[test]
    fn every_table_is_accounted_for() {
        let mut scratch = Scratch::open().unwrap();
        let names: Vec<Name> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
        )
        .load(scratch.conn())
        .unwrap();
        let known: Vec<&str> = MOVED
            .iter()
            .map(|(name, _)| *name)
            .chain(BORROWED.iter().copied())
            .chain(NOT_WRITTEN.iter().copied())
            .collect();
        for Name { name } in &names {
            assert!(
                known.contains(&name.as_str()),
                "the import does not know table {name}"
            );
        }
        assert_eq!(known.len(), names.len());
    }
}
