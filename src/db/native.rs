//! Queries run on the connection's own backend, not through the multi-backend connection.
//!
//! diesel's `MultiConnection` hands each query to the backend inside a wrapper whose every AST
//! pass renders the query's whole SQL text first — the pass that asks whether the statement may be
//! cached and the pass that collects its binds alike, so twice on every execution — even when the
//! backend already holds the statement prepared under its type and never reads that text. On the
//! bulk import's replay (~150 statements a plan in the scratch database) that rendering was a
//! seventh of the import thread's time (`BENCHMARKS.md`, the eleventh session). The methods here
//! run the same query on `PgConnection` or `SqliteConnection` directly: a statement prepared by
//! type is then found with its binds and nothing rendered. The SQL and the results are the
//! backend's own either way — `MultiBackend` delegates every type to it — so query code stays
//! written once; only a query typed for `MultiBackend` itself (a boxed query) cannot go this way
//! and keeps diesel's `RunQueryDsl`.

use diesel::pg::PgConnection;
use diesel::query_dsl::methods::{ExecuteDsl, LimitDsl};
use diesel::query_dsl::LoadQuery;
use diesel::sqlite::SqliteConnection;
use diesel::QueryResult;

use super::DbConn;

/// Runs `$body` with `$c` bound to the connection's own backend connection: for a query that
/// must be built per backend — a boxed one, whose type names its backend — written once.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// `execute`, `load`, `get_result` and `first` on the connection's own backend (see the module).
pub trait NativeRunQueryDsl: Sized {
    fn execute_native(self, conn: &mut DbConn) -> QueryResult<usize>
    where
        Self: ExecuteDsl<PgConnection> + ExecuteDsl<SqliteConnection>,
    {
        match conn {
            DbConn::Postgres(c) => ExecuteDsl::execute(self, c),
            DbConn::Sqlite(c) => ExecuteDsl::execute(self, c),
        }
    }

    fn load_native<'query, U>(self, conn: &mut DbConn) -> QueryResult<Vec<U>>
    where
        Self: LoadQuery<'query, PgConnection, U> + LoadQuery<'query, SqliteConnection, U>,
    {
        match conn {
            DbConn::Postgres(c) => diesel::RunQueryDsl::load(self, c),
            DbConn::Sqlite(c) => diesel::RunQueryDsl::load(self, c),
        }
    }

    fn get_result_native<'query, U>(self, conn: &mut DbConn) -> QueryResult<U>
    where
        Self: LoadQuery<'query, PgConnection, U> + LoadQuery<'query, SqliteConnection, U>,
    {
        match conn {
            DbConn::Postgres(c) => diesel::RunQueryDsl::get_result(self, c),
            DbConn::Sqlite(c) => diesel::RunQueryDsl::get_result(self, c),
        }
    }

    fn first_native<'query, U>(self, conn: &mut DbConn) -> QueryResult<U>
    where
        Self: LimitDsl,
        diesel::dsl::Limit<Self>:
            LoadQuery<'query, PgConnection, U> + LoadQuery<'query, SqliteConnection, U>,
    {
        LimitDsl::limit(self, 1).get_result_native(conn)
    }
}

impl<T> NativeRunQueryDsl for T {}

/// The columns a row type reads, as the plain tuple `Selectable` derives — what `as_select()`
/// wraps, minus the backend that `as_select()` names in its type, so one query expression can
/// run on either backend's connection. The row is read from them by position (`Queryable`, which
/// the same derive lists in the same field order); the columns' SQL types are still checked
/// against the row's fields when the query is compiled.
pub fn columns<T: diesel::Selectable<diesel::pg::Pg>>() -> T::SelectExpression {
    T::construct_selection()
}

/// A condition that always holds and keeps the query it is added to out of diesel's statement
/// cache (a raw SQL fragment is never cached): PostgreSQL then plans the statement anew every
/// time, with the table's statistics as they are then — on the pool's connections still without
/// its values (`plan_cache_mode = force_generic_plan`, `db::ConnectionManager`; for a plan made
/// with them, [`with_plans_for_the_values`]). For a lookup among a list whose table grows under a
/// long-lived connection. From its sixth run on, a cached statement may be run with a generic plan (one made
/// without the values, when it looks no dearer than the plans made for them), and a generic plan
/// made while the table was small is kept as the table grows: the import's key
/// lookup was planned as a scan of all its source's keys, filtered (30 ms a batch at 200,000
/// keys, growing with every batch), where the plan for the values is a lookup of each key
/// (`BENCHMARKS.md`, eighteenth session).
pub fn planned_for_its_values() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 1")
}

/// Runs `f` as one transaction whose statements PostgreSQL plans for the values they are bound to.
/// The pool's connections have every statement planned without its values
/// (`plan_cache_mode = force_generic_plan`, `db::ConnectionManager`): right for the requests' key
/// and index lookups, whose plan is the same for any key, and wrong where the best index depends
/// on the value — an organisation's records are a few among millions for a municipality and most
/// of the log for the region, and planned without the value the municipality's page walked the
/// whole log (`db::audit::list`). `SET LOCAL` ends with the transaction, so the connection goes
/// back to the pool as it came; the statements share one snapshot too.
pub fn with_plans_for_the_values<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> crate::error::Result<T>,
) -> crate::error::Result<T> {
    use diesel::Connection;
    conn.transaction(|c| {
        plan_for_the_values_until_commit(c)?;
        f(c)
    })
}

/// From here to the end of the transaction `conn` is in, PostgreSQL plans each statement for the
/// values it is bound to (see [`with_plans_for_the_values`]), and so for the tables' sizes as they
/// are now. For work that already runs in a transaction of its own, such as the access log's
/// sealer. Nothing on SQLite, whose statements are always planned with their values.
pub fn plan_for_the_values_until_commit(conn: &mut DbConn) -> crate::error::Result<()> {
    use diesel::connection::SimpleConnection;
    if let DbConn::Postgres(pg) = conn {
        pg.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::plans::{self, PlanRow};
    use crate::db::schema::plans as table;
    use crate::db::scratch::Scratch;
    use crate::domain::identity::HsaId;
    use crate::domain::plan::{ClosingReason, PlanStatus};
    use crate::domain::Principal;
    use diesel::prelude::*;

    /// A row read by position from [`columns`] on the backend's own connection is the row
    /// `as_select()` reads by name through the multi-backend connection: every column lands in
    /// its own field (each text here is different, so two swapped fields would show).
    #[test]
    fn columns_read_by_position_are_the_row_selected_by_name() {
        let mut scratch = Scratch::open().unwrap();
        let conn = scratch.conn();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .and_then(|d| d.and_hms_opt(10, 30, 0))
            .unwrap();
        let row = PlanRow {
            what_matters: Some("to work".into()),
            topics_to_avoid: r#"["the past"]"#.into(),
            follows_discharge: true,
            discharge_ready_at: Some(at),
            status: PlanStatus::Closed,
            closing_reason: Some(ClosingReason::GoalsMet),
            closing_note: Some("all done".into()),
            closed_at: Some(at),
            version: 7,
            revision: 2,
            next_follow_up_on: Some(at.date()),
            procedure_code: Some("AU125".into()),
            responsible_principal: Some(Principal::Municipality),
            coordinator_name: Some("Kim Samordnare".into()),
            coordinator_unit: Some(HsaId::parse("SE2120000001-SOC1").unwrap()),
            ..plans::sample_row()
        };
        plans::insert(conn, &row).unwrap();
        let by_name: PlanRow =
            diesel::RunQueryDsl::first(table::table.select(PlanRow::as_select()), conn).unwrap();
        let by_position: PlanRow = table::table
            .select(columns::<PlanRow>())
            .first_native(conn)
            .unwrap();
        assert_eq!(format!("{by_position:?}"), format!("{row:?}"));
        assert_eq!(format!("{by_position:?}"), format!("{by_name:?}"));
    }
}
