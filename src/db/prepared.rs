//! Updates of a whole row, kept prepared. diesel prepares every `UPDATE` anew (it cannot know that
//! a changeset's SQL never varies: `../shared/TECH-NOTES.md`), so each process step paid for
//! parsing and planning its plan's `UPDATE` again — on SQLite a fifth of a replayed import's CPU
//! (`sqlite3_prepare_v3`). A row type's changeset with `treat_none_as_null` names every column
//! every time: the SQL of [`WholeRow`] is the same for every call of one call site, which its
//! marker type names, so the connection keeps it prepared like a `SELECT`.
//!
//! Only for row types with `treat_none_as_null = true`: without it a `None` field leaves its
//! column out, the SQL varies, and a statement kept under one name would be the wrong one
//! (`individuals`, whose row skips its optional columns, is updated the ordinary way).

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// `UPDATE {table} SET {changeset} WHERE {filter}`, cached under `Site`'s type: one `Site` per
/// statement shape (the same table, the same changeset type, the same filter).
pub struct WholeRow<Site, C, W> {
    table: &'static str,
    changeset: C,
    filter: W,
    site: PhantomData<Site>,
}

/// Updates `table` with `changeset` (a whole row, `treat_none_as_null`) where `filter` holds.
pub fn update_whole_row<Site, C, W>(
    table: &'static str,
    changeset: C,
    filter: W,
) -> WholeRow<Site, C, W> {
    WholeRow {
        table,
        changeset,
        filter,
        site: PhantomData,
    }
}

impl<Site, C, W, DB> QueryFragment<DB> for WholeRow<Site, C, W>
where
    DB: Backend,
    C: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        out.push_identifier(self.table)?;
        out.push_sql(" SET ");
        self.changeset.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

impl<Site: 'static, C, W> QueryId for WholeRow<Site, C, W> {
    type QueryId = Site;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Site, C, W, Conn> diesel::RunQueryDsl<Conn> for WholeRow<Site, C, W> {}

/// The `UPDATE` of `row` — a whole row of `table` (`treat_none_as_null`), its `version` already
/// moved on — that writes it only if the stored version is still `row.version - 1`. The statement
/// is kept prepared under a name of its own (one per call site).
macro_rules! versioned_update {
    ($table:ident, $row:expr) => {{
        /// The statement's own name in the connection's cache of prepared statements.
        struct Site;
        let row = $row;
        $crate::db::prepared::update_whole_row::<Site, _, _>(
            stringify!($table),
            row.as_changeset(),
            $table::id
                .eq(&row.id)
                .and($table::version.eq(row.version - 1)),
        )
    }};
}
pub(crate) use versioned_update;

/// Stores `row` with [`versioned_update`]: `Ok(false)` when another writer won.
macro_rules! update_versioned {
    ($conn:expr, $table:ident, $row:expr) => {{
        let update = $crate::db::prepared::versioned_update!($table, $row);
        $crate::db::native::NativeRunQueryDsl::execute_native(update, $conn)
            .map(|changed| changed == 1)
    }};
}
pub(crate) use update_versioned;

/// Stores `row` with [`versioned_update`] and the change's journal
/// (`journal::update_with`: one statement on PostgreSQL); `Err($lost)` when another writer won.
macro_rules! update_journaled {
    ($conn:expr, $table:ident, $row:expr, $journal:expr, $lost:expr) => {{
        let update = $crate::db::prepared::versioned_update!($table, $row);
        $crate::db::journal::update_with($conn, update, $journal, $lost)
    }};
}
pub(crate) use update_journaled;

/// The SQL of `query` when the connection keeps it prepared — a static query id and safe to cache,
/// so diesel prepares it once a connection — without its binds; panics when it would be parsed
/// anew each time.
#[cfg(test)]
pub(crate) fn kept_sql<Q>(query: &Q) -> String
where
    Q: QueryId + QueryFragment<diesel::pg::Pg>,
{
    assert!(
        Q::HAS_STATIC_QUERY_ID,
        "not kept prepared: no static query id"
    );
    assert!(
        query.is_safe_to_cache_prepared(&diesel::pg::Pg).unwrap(),
        "not kept prepared: unsafe to cache"
    );
    let text = diesel::debug_query::<diesel::pg::Pg, _>(query).to_string();
    text.split("-- binds:")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use crate::db::plans;
    use crate::db::schema::plans as table;
    use crate::db::scratch::Scratch;
    use diesel::prelude::*;

    /// The statement kept prepared writes every column each time, a `None` as NULL: an optional
    /// column set and cleared again reads back as written, and a stale version changes nothing.
    #[test]
    fn a_prepared_whole_row_update_writes_what_it_is_given_every_time() {
        let mut scratch = Scratch::open().unwrap();
        let conn = scratch.conn();
        let mut row = plans::sample_row();
        plans::insert(conn, &row).unwrap();
        let stored = |conn: &mut crate::db::DbConn, id: &str| -> (Option<String>, i64) {
            table::table
                .find(id)
                .select((table::what_matters, table::version))
                .first(conn)
                .unwrap()
        };
        for what_matters in [Some("to work"), None, Some("to rest")] {
            row.version += 1;
            row.what_matters = what_matters.map(String::from);
            assert!(plans::update(conn, &row).unwrap());
            assert_eq!(
                stored(conn, &row.id),
                (row.what_matters.clone(), row.version)
            );
        }
        // A writer that read an older version loses.
        let mut stale = row.clone();
        stale.version -= 1;
        stale.what_matters = Some("lost".into());
        assert!(!plans::update(conn, &stale).unwrap());
        assert_eq!(stored(conn, &row.id).0.as_deref(), Some("to rest"));
    }
}
