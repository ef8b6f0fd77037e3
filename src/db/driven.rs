//! A condition whose subquery runs first and drives the lookup: `left = ANY(ARRAY(subquery))` on
//! PostgreSQL, `left IN (subquery)` on SQLite.
//!
//! Written as `left IN (subquery)`, PostgreSQL may turn the two into a join of its own choosing,
//! and with a plan made without the values (the pool's connections force generic plans) it chose
//! to walk the outer table in order beside the subquery's rows — every plan of the region, for a
//! unit's page of its few (`db::plans::list`). `ARRAY(…)` is evaluated once, before the outer
//! query, and the outer table is then looked up by its values: the subquery's own `LIMIT` bounds
//! what the statement reads. SQLite evaluates an uncorrelated `IN (subquery)` once and looks the
//! outer rows up by its values already.

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// `left` is one of the values `subquery` selects, the subquery run first (see the module).
pub fn driven_by<L, Q>(left: L, subquery: Q) -> DrivenBy<L, Q> {
    DrivenBy { left, subquery }
}

#[derive(Debug, Clone, Copy)]
pub struct DrivenBy<L, Q> {
    left: L,
    subquery: Q,
}

impl<L, Q> Expression for DrivenBy<L, Q> {
    type SqlType = Bool;
}

impl<L: AppearsOnTable<QS>, Q, QS> AppearsOnTable<QS> for DrivenBy<L, Q> {}

impl<L, Q> ValidGrouping<()> for DrivenBy<L, Q> {
    type IsAggregate = is_aggregate::Never;
}

impl<L, Q> QueryId for DrivenBy<L, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

fn walk<'b, DB: Backend>(
    left: &'b impl QueryFragment<DB>,
    subquery: &'b impl QueryFragment<DB>,
    mut out: AstPass<'_, 'b, DB>,
    open: &str,
    close: &str,
) -> QueryResult<()> {
    left.walk_ast(out.reborrow())?;
    out.push_sql(open);
    subquery.walk_ast(out.reborrow())?;
    out.push_sql(close);
    Ok(())
}

impl<L: QueryFragment<Pg>, Q: QueryFragment<Pg>> QueryFragment<Pg> for DrivenBy<L, Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk(&self.left, &self.subquery, out, " = ANY(ARRAY(", "))")
    }
}

impl<L: QueryFragment<Sqlite>, Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for DrivenBy<L, Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        walk(&self.left, &self.subquery, out, " IN (", ")")
    }
}
