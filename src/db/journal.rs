//! What a write leaves behind besides the change itself: its access-log row and its change event.
//! Stored at once, one row each — or, inside [`collecting`], kept until the end of a unit of work
//! and stored there in one multi-row statement per table.
//!
//! The bulk import replays a plan's whole history as some forty changes in one record: collected,
//! they are two statements instead of eighty. They are still written inside the record's own
//! transaction (savepoint), so a record that fails leaves neither its changes nor their rows, and
//! a record that lands has every row — in the order the changes happened, which is the order of
//! their feed positions.

use std::cell::RefCell;
use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl};

use super::audit::{self, NewAccess, NewAuditEvent};
use super::events::{self, NewChangeEvent};
use super::native::NativeRunQueryDsl;
use super::schema::{audit_events, change_events};
use super::DbConn;
use crate::error::{Error, Result};

/// The access-log rows and change events of a unit of work, in the order its changes happened.
#[derive(Default)]
pub struct Collected {
    accesses: Vec<NewAccess>,
    events: Vec<NewChangeEvent>,
}

impl Collected {
    /// Adds the rows of a later unit of work.
    pub fn append(&mut self, later: Collected) {
        self.accesses.extend(later.accesses);
        self.events.extend(later.events);
    }

    /// Whether the unit of work changed anything.
    pub fn is_empty(&self) -> bool {
        self.accesses.is_empty() && self.events.is_empty()
    }

    /// Keeps one access-log row for all the unit's changes (the import's record: see
    /// `service::imports::access_of`).
    pub fn as_one_access(&mut self, access: NewAuditEvent) {
        self.accesses = vec![access.into()];
    }

    /// Stores the rows: one multi-row statement per table (in chunks the backends accept), the
    /// events with their feed positions — at the end of a transaction (see
    /// [`events::record_all_positioned`]).
    pub fn store(self, conn: &mut DbConn) -> Result<()> {
        audit::insert_all(conn, &self.accesses)?;
        events::record_all_positioned(conn, &self.events)
    }
}

/// A change's access-log row and change event, as [`write`] and [`write_with`] take them.
pub type Journal = (NewAuditEvent, NewChangeEvent);

thread_local! {
    /// The rows of the [`collecting`] unit of work running on this thread, if one is.
    static COLLECTED: RefCell<Option<Collected>> = const { RefCell::new(None) };
}

/// Writes (or, inside [`collecting`], keeps) a change's access-log row and change event.
pub fn write(conn: &mut DbConn, access: NewAuditEvent, event: NewChangeEvent) -> Result<()> {
    let kept = COLLECTED.with(|c| match c.borrow_mut().as_mut() {
        Some(collected) => {
            collected.accesses.push(access.clone().into());
            collected.events.push(event.clone());
            true
        }
        None => false,
    });
    if kept {
        return Ok(());
    }
    match conn {
        DbConn::Postgres(pg) => {
            Together {
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            }
            .execute(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => {
            audit::insert(conn, &access)?;
            events::record(conn, &event)
        }
    }
}

/// Runs `change` — the INSERT of a new row, which always writes that one row or fails — and
/// writes its access-log row and change event as [`write`] does. On PostgreSQL, outside a
/// [`collecting`] unit of work, the three are one statement (see [`Journaled`]): a create is then
/// four round trips of its transaction, not five. Only for INSERTs: an UPDATE's count of rows
/// written (its version check) would be lost inside the statement. The statement is kept prepared
/// when the INSERT's own type is static, as it is for a row type that inserts a `None` as NULL
/// (`treat_none_as_default_value = false`).
pub fn write_with<C>(conn: &mut DbConn, change: C, (access, event): Journal) -> Result<()>
where
    C: QueryFragment<Pg>
        + QueryId
        + ExecuteDsl<diesel::PgConnection>
        + ExecuteDsl<diesel::SqliteConnection>,
{
    let collecting = COLLECTED.with(|c| c.borrow().is_some());
    match conn {
        DbConn::Postgres(pg) if !collecting => {
            Journaled {
                change,
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            }
            .execute(pg)?;
            Ok(())
        }
        _ => {
            change.execute_native(conn)?;
            write(conn, access, event)
        }
    }
}

/// Runs `update` — a versioned `UPDATE` of one row (`prepared::versioned_update`) — and writes its
/// access-log row and change event as [`write`] does; `Err(lost)` when the version check let
/// nothing through (another writer won). On PostgreSQL, outside a [`collecting`] unit of work, the
/// three are one statement (see [`JournaledUpdate`]), one round trip fewer for every step that
/// saves a plan. There the journal's rows are written even when the update was not, and only the
/// transaction's rollback drops them: which is why a lost update is an error here, never a value
/// a caller could ignore.
pub fn update_with<U>(
    conn: &mut DbConn,
    update: U,
    (access, event): Journal,
    lost: Error,
) -> Result<()>
where
    U: QueryFragment<Pg>
        + QueryId
        + ExecuteDsl<diesel::PgConnection>
        + ExecuteDsl<diesel::SqliteConnection>,
{
    let collecting = COLLECTED.with(|c| c.borrow().is_some());
    let changed = match conn {
        DbConn::Postgres(pg) if !collecting => {
            let changed: i64 = JournaledUpdate {
                update,
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            }
            .get_result(pg)?;
            changed == 1
        }
        _ => {
            let changed = update.execute_native(conn)? == 1;
            if changed {
                write(conn, access, event)?;
            }
            changed
        }
    };
    if changed {
        Ok(())
    } else {
        Err(lost)
    }
}

/// PostgreSQL: a write's access row and change event in one statement,
/// `WITH access AS (INSERT INTO audit_events …) INSERT INTO change_events …` — one round trip of
/// the write's transaction fewer. Its SQL never varies (both row types insert a `None` as NULL), so
/// it is kept prepared under this type's name like any `SELECT`. SQLite runs in process: two
/// inserts cost no round trip there.
struct Together<A, E> {
    access: A,
    event: E,
}

impl<A, E> QueryFragment<Pg> for Together<A, E>
where
    A: QueryFragment<Pg>,
    E: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH access AS (");
        self.access.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.event.walk_ast(out.reborrow())
    }
}

/// The statement's name in the connection's cache: one shape, whatever the rows.
struct TogetherStatement;

impl<A, E> QueryId for Together<A, E> {
    type QueryId = TogetherStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<A, E> RunQueryDsl<diesel::PgConnection> for Together<A, E> {}

/// PostgreSQL: a new row, its access row and its change event in one statement,
/// `WITH change AS (INSERT …), access AS (INSERT INTO audit_events …) INSERT INTO change_events …`.
/// PostgreSQL runs every data-modifying part of a `WITH` to completion, in the statement's one
/// snapshot; none reads another's rows, so their order in the text does not matter. Kept prepared
/// under the change's own statement type when that is static.
struct Journaled<C, A, E> {
    change: C,
    access: A,
    event: E,
}

impl<C, A, E> QueryFragment<Pg> for Journaled<C, A, E>
where
    C: QueryFragment<Pg>,
    A: QueryFragment<Pg>,
    E: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH change AS (");
        self.change.walk_ast(out.reborrow())?;
        out.push_sql("), access AS (");
        self.access.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.event.walk_ast(out.reborrow())
    }
}

/// The statement's name in the connection's cache: one per type of change.
struct JournaledStatement<C>(PhantomData<C>);

impl<C: QueryId, A, E> QueryId for Journaled<C, A, E> {
    type QueryId = JournaledStatement<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C, A, E> RunQueryDsl<diesel::PgConnection> for Journaled<C, A, E> {}

/// PostgreSQL: a versioned update, its access row and its change event in one statement,
/// `WITH change AS (UPDATE … RETURNING 1), access AS (INSERT INTO audit_events …) INSERT INTO
/// change_events … RETURNING (SELECT count(*) FROM change)`: the statement answers how many rows
/// the update wrote (0 or 1), which an `UPDATE` inside a `WITH` cannot tell by itself. Kept
/// prepared under the update's own statement type.
struct JournaledUpdate<U, A, E> {
    update: U,
    access: A,
    event: E,
}

impl<U, A, E> QueryFragment<Pg> for JournaledUpdate<U, A, E>
where
    U: QueryFragment<Pg>,
    A: QueryFragment<Pg>,
    E: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH change AS (");
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING 1), access AS (");
        self.access.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.event.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING (SELECT count(*) FROM change)");
        Ok(())
    }
}

impl<U, A, E> Query for JournaledUpdate<U, A, E> {
    type SqlType = BigInt;
}

/// The statement's name in the connection's cache: one per update statement.
struct JournaledUpdateStatement<U>(PhantomData<U>);

impl<U: QueryId, A, E> QueryId for JournaledUpdate<U, A, E> {
    type QueryId = JournaledUpdateStatement<U::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = U::HAS_STATIC_QUERY_ID;
}

impl<U, A, E> RunQueryDsl<diesel::PgConnection> for JournaledUpdate<U, A, E> {}

/// Runs `work`, keeping the rows its changes write, and stores them when it succeeds — before it
/// returns, so inside the same transaction. When it fails they are dropped with its changes.
pub fn collecting<T>(conn: &mut DbConn, work: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    let (result, collected) = kept(|| work(conn))?;
    collected.store(conn)?;
    Ok(result)
}

/// Runs `work`, keeping the rows its changes write, and hands them over when it succeeds: the
/// caller stores them where and when the changes themselves land (the import stores a batch of
/// records' rows together). When it fails they are dropped.
/// Runs on one thread (diesel's connection is used synchronously), which is what makes the
/// thread-local collection sound; units of work do not nest.
pub fn kept<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, Collected)> {
    /// Clears the collection however `work` ends, a panic included.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            COLLECTED.with(|c| c.borrow_mut().take());
        }
    }
    COLLECTED.with(|c| {
        let mut slot = c.borrow_mut();
        assert!(
            slot.is_none(),
            "units of work that collect their rows do not nest"
        );
        *slot = Some(Collected::default());
    });
    let _reset = Reset;
    let result = work()?;
    let collected = COLLECTED
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    Ok((result, collected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(filled: bool) -> (NewAuditEvent, NewChangeEvent) {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let some = |text: &str| filled.then(|| text.to_string());
        let access = NewAuditEvent {
            occurred_at: at,
            subject: "tester".into(),
            unit: "SE2321000016-PSY1".into(),
            principal: "region".into(),
            action: "plan.updated".into(),
            resource_type: "plan".into(),
            resource_id: some("p1"),
            plan_id: some("p1"),
            individual_id: some("i1"),
            result: "allowed".into(),
            status: 200,
            request_id: "r1".into(),
        };
        let event = NewChangeEvent {
            event_type: "plan.updated".into(),
            resource_type: "plan".into(),
            resource_id: "p1".into(),
            plan_id: some("p1"),
            version: 2,
            from_status: some("need_identified"),
            to_status: some("summoned"),
            reason: some("code"),
            subject: "tester".into(),
            unit: "SE2321000016-PSY1".into(),
            occurred_at: at,
            note: some("note"),
            recorded_at: at,
        };
        (access, event)
    }

    /// A statement's PostgreSQL text without its binds, after checking that its type names it for
    /// diesel's statement cache (a static query id): what a test of a prepared statement compares.
    fn prepared_sql<Q>(query: &Q) -> String
    where
        Q: QueryId + diesel::query_builder::QueryFragment<Pg>,
    {
        assert!(Q::HAS_STATIC_QUERY_ID, "not kept prepared");
        let text = diesel::debug_query::<Pg, _>(query).to_string();
        text.split("-- binds:")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The statement is kept prepared under one name, so its SQL must be the same whichever
    /// optional values a write has: a `None` is a bound NULL, never a `DEFAULT` in the text.
    #[test]
    fn the_journal_statement_reads_the_same_whatever_is_missing() {
        let sql = |filled: bool| {
            let (access, event) = rows(filled);
            let together = Together {
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            };
            prepared_sql(&together)
        };
        let full = sql(true);
        assert_eq!(full, sql(false));
        assert!(full.starts_with("WITH access AS (INSERT INTO \"audit_events\""));
        assert!(!full.contains("DEFAULT"));
        assert!(full.contains("$25"), "both rows' values are bound: {full}");
    }

    /// Every row type of `src/db/` inserts a missing value as NULL, never as `DEFAULT`, so that no
    /// `INSERT`'s text varies with its row and every connection keeps each one prepared (and
    /// [`write_with`]'s statement with it). A row type added without the setting fails here.
    #[test]
    fn every_row_type_inserts_a_missing_value_as_null() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/db");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = source.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.starts_with("#[derive(") && line.contains("Insertable") {
                    let attributes = lines[i + 1..]
                        .iter()
                        .take_while(|l| l.starts_with("#["))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(
                        attributes.contains("treat_none_as_default_value = false"),
                        "{}:{}: an Insertable row type without \
                         `treat_none_as_default_value = false`",
                        path.display(),
                        i + 1
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "found only {checked} row types");
    }

    /// A new plan with its journal is one statement, kept prepared like the journal's own: its SQL
    /// does not vary with the plan's empty fields, and its type names it for the cache.
    #[test]
    fn a_new_plan_and_its_journal_are_one_statement_kept_prepared() {
        use crate::db::plans::PlanRow;
        use crate::db::schema::plans;
        let (access, event) = rows(false);
        let plan = PlanRow::opened(
            crate::domain::ids::IndividualId::new(),
            crate::domain::identity::HsaId::parse("SE2321000016-PSY1").unwrap(),
            crate::domain::Principal::Region,
            "tester".into(),
            "need".into(),
            access.occurred_at,
        );
        let sql = |plan: &PlanRow| {
            let journaled = Journaled {
                change: diesel::insert_into(plans::table).values(plan),
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            };
            prepared_sql(&journaled)
        };
        prepared_sql(&diesel::insert_into(plans::table).values(&plan));
        let text = sql(&plan);
        let filled = PlanRow {
            what_matters: Some("work".into()),
            closing_note: Some("note".into()),
            coordinator_name: Some("Anna".into()),
            ..plan.clone()
        };
        assert_eq!(
            text,
            sql(&filled),
            "the SQL does not vary with empty fields"
        );
        assert!(
            text.starts_with("WITH change AS (INSERT INTO \"plans\" "),
            "{text}"
        );
        assert!(text.contains("), access AS (INSERT INTO \"audit_events\""));
        assert!(!text.contains("DEFAULT"), "{text}");
    }

    /// A plan's versioned update with its journal is one statement kept prepared, which answers
    /// how many rows the update wrote; its SQL does not vary with the plan's empty fields.
    #[test]
    fn a_plan_update_and_its_journal_are_one_statement_kept_prepared() {
        use crate::db::plans::{sample_row, PlanRow};
        use crate::db::schema::plans;
        use diesel::prelude::*;
        let (access, event) = rows(false);
        let sql = |plan: &PlanRow| {
            let journaled = JournaledUpdate {
                update: crate::db::prepared::versioned_update!(plans, plan),
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            };
            prepared_sql(&journaled)
        };
        let plan = sample_row();
        let text = sql(&plan);
        let filled = PlanRow {
            what_matters: Some("work".into()),
            closing_note: Some("note".into()),
            ..plan.clone()
        };
        assert_eq!(
            text,
            sql(&filled),
            "the SQL does not vary with empty fields"
        );
        assert!(
            text.starts_with("WITH change AS (UPDATE \"plans\" SET "),
            "{text}"
        );
        assert!(text.contains(" RETURNING 1), access AS (INSERT INTO \"audit_events\""));
        assert!(
            text.trim_end()
                .ends_with("RETURNING (SELECT count(*) FROM change)"),
            "{text}"
        );
    }

    /// An individual's update with its journal is one statement too, but never kept prepared: the
    /// row leaves an absent optional column out, so the SQL varies, and a statement cached under
    /// one name would write the wrong columns. diesel marks such an `UPDATE` unsafe to cache and
    /// the journal's statement carries the mark.
    #[test]
    fn an_individuals_update_and_its_journal_are_one_statement_prepared_anew() {
        use crate::db::individuals::IndividualRow;
        use crate::db::schema::individuals;
        use diesel::prelude::*;
        use diesel::query_builder::QueryFragment;
        let (access, event) = rows(false);
        let row = IndividualRow {
            id: crate::domain::ids::IndividualId::new(),
            identity_number: "191212121212".into(),
            identity_kind: "personnummer".into(),
            given_name: "Tolvan".into(),
            family_name: "Tolvansson".into(),
            protected_identity: false,
            version: 2,
            created_at: access.occurred_at,
            updated_at: access.occurred_at,
            registered_by_unit: None,
            duplicate_of: None,
        };
        let registered = IndividualRow {
            registered_by_unit: Some(
                crate::domain::identity::HsaId::parse("SE2321000016-PSY1").unwrap(),
            ),
            ..row.clone()
        };
        let journaled = |row: &IndividualRow| {
            let update = diesel::update(
                individuals::table
                    .filter(individuals::id.eq(&row.id))
                    .filter(individuals::version.eq(row.version - 1)),
            )
            .set(row.clone());
            let journaled = JournaledUpdate {
                update,
                access: diesel::insert_into(audit_events::table).values(&access),
                event: diesel::insert_into(change_events::table).values(&event),
            };
            let text = diesel::debug_query::<Pg, _>(&journaled).to_string();
            let cacheable = journaled.is_safe_to_cache_prepared(&Pg).unwrap();
            (text, cacheable)
        };
        let (text, cacheable) = journaled(&row);
        assert!(!cacheable, "an UPDATE whose SQL varies is never cached");
        assert_ne!(
            text,
            journaled(&registered).0,
            "the SQL varies with the row"
        );
        assert!(
            text.starts_with("WITH change AS (UPDATE \"individuals\" SET "),
            "{text}"
        );
        assert!(text.contains("), access AS (INSERT INTO \"audit_events\""));
    }
}
