//! The change log: every change, recorded once, in the same transaction as the change. It holds ids,
//! types, versions, states and reason codes, plus an optional free-text note that only the plan's
//! history shows. It is the plan history, and — read in feed position order — the change feed.
//!
//! `seq` is the row's id, taken at insert. `position` is the feed position, given in the order the
//! events become visible: a reader that asks for the positions after the last one it saw never
//! misses an event, even while writers commit concurrently. On SQLite it is the `seq` (one writer at
//! a time: ids are taken in commit order). On PostgreSQL a writer commits its events unpositioned
//! and [`position_committed`] positions them afterwards, one run at a time (migration
//! `…000020_feed_positioned_after_commit` says why that is sound); whatever reads positions runs it
//! first.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::change_events;
use super::DbConn;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::HsaId;
use crate::error::Result;

/// A `None` is inserted as NULL, not as `DEFAULT`, as [`super::audit::NewAuditEvent`]'s are.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = change_events, treat_none_as_default_value = false)]
pub struct NewChangeEvent {
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: String,
    pub plan_id: Option<String>,
    pub version: i64,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    /// A reason *code* (e.g. a closing reason), never free text.
    pub reason: Option<String>,
    pub subject: String,
    pub unit: String,
    /// When the change happened.
    pub occurred_at: NaiveDateTime,
    /// Free text (e.g. why an intervention was cancelled): for the plan's history only, never for
    /// the change feed.
    pub note: Option<String>,
    /// When it was recorded (wall clock): the feed's retention counts from here.
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_events)]
pub struct ChangeEventRow {
    pub seq: i64,
    pub event_type: EventType,
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub plan_id: Option<String>,
    pub version: i64,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    pub subject: String,
    pub unit: HsaId,
    pub occurred_at: NaiveDateTime,
    pub note: Option<String>,
    /// Set once committed (see [`position_committed`]).
    pub position: Option<i64>,
    pub recorded_at: NaiveDateTime,
}

impl ChangeEventRow {
    /// The feed position (0 only for an event not yet positioned: on PostgreSQL one of the reading
    /// transaction itself, or one committed after its reader positioned the feed).
    pub fn position(&self) -> i64 {
        self.position.unwrap_or(0)
    }
}

pub fn record(conn: &mut DbConn, event: &NewChangeEvent) -> Result<()> {
    diesel::insert_into(change_events::table)
        .values(event)
        .execute_native(conn)?;
    Ok(())
}

/// The feed's advisory lock: 5 370 707 is an arbitrary key naming it (migration
/// `…000020_feed_positioned_after_commit`); nothing else uses advisory locks.
const FEED_LOCK: i64 = 5_370_707;

/// Stores many events — an import's batch, some forty a plan — in as few statements as the backend
/// allows, in their order, *with* their feed positions. On PostgreSQL it holds the feed's lock until
/// its transaction ends: call it at the end of one.
///
/// On SQLite the positions are the ids, as always. On PostgreSQL a write normally commits its
/// events unpositioned and [`position_committed`] positions them afterwards with an `UPDATE` —
/// a second version of each row, with new entries in every index of the table. For a batch of
/// thousands of events that doubled what the feed cost to store. Here the batch takes the feed's
/// lock, positions what others committed before it, draws positions for its own events from the
/// same sequence and inserts them positioned; the lock is held until the commit, which makes them
/// visible before any later run can draw a position after theirs. That is the argument of
/// migration `…000020` for a positioning run, and the feed still never skips or repeats an event.
/// The cost, holding the lock from here to the commit, is paid only by the import (one at a time
/// per source, its batch's last statements): other writers take no lock and commit as before, and
/// a reader positioning the feed waits for those statements at most.
pub fn record_all_positioned(conn: &mut DbConn, events: &[NewChangeEvent]) -> Result<()> {
    match conn {
        DbConn::Sqlite(_) => {
            // 14 columns a row: within the binds SQLite takes in one statement.
            const CHUNK: usize = 2_000;
            for chunk in events.chunks(CHUNK) {
                super::insert_rows!(conn, change_events::table, chunk)?;
            }
            Ok(())
        }
        DbConn::Postgres(pg) => {
            if events.is_empty() {
                return Ok(());
            }
            #[derive(QueryableByName)]
            struct Last {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                last: i64,
            }
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(FEED_LOCK)
                .execute(pg)?;
            position_committed_pg(pg)?;
            // Only the holder of the lock draws positions, so the batch's are consecutive. The
            // notification (sent at the commit) wakes other instances' feed readers, as a
            // positioning run's does.
            let last = diesel::sql_query(
                "SELECT setval('change_events_position_seq', \
                 nextval('change_events_position_seq') + $1 - 1) AS last \
                 FROM (SELECT pg_notify('sip_feed', '')) notified",
            )
            .bind::<diesel::sql_types::BigInt, _>(events.len() as i64)
            .get_result::<Last>(pg)?
            .last;
            insert_positioned_postgres(pg, events, last - events.len() as i64 + 1)?;
            Ok(())
        }
    }
}

/// PostgreSQL: `events` in one statement whatever their number, positioned from `first` on in
/// their order — each column bound as one array and unnested (as the access log's groups are,
/// `audit::insert_all`). A multi-row `VALUES` of an import's batch (some 2,000 events, 14 binds
/// each) cost the service and PostgreSQL about three times the insert itself to write, send,
/// parse and plan; the arrays' statement never varies.
fn insert_positioned_postgres(
    conn: &mut diesel::PgConnection,
    events: &[NewChangeEvent],
    first: i64,
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
    fn column<'a, T>(
        events: &'a [NewChangeEvent],
        value: impl Fn(&'a NewChangeEvent) -> T,
    ) -> Vec<T> {
        events.iter().map(value).collect()
    }
    // `ORDER BY n`: the rows draw their ids (`seq`) in the order of their positions.
    diesel::sql_query(
        "INSERT INTO change_events (event_type, resource_type, resource_id, plan_id, version, \
         from_status, to_status, reason, subject, unit, occurred_at, note, recorded_at, position) \
         SELECT e.event_type, e.resource_type, e.resource_id, e.plan_id, e.version, \
         e.from_status, e.to_status, e.reason, e.subject, e.unit, e.occurred_at, e.note, \
         e.recorded_at, $14 + e.n - 1 \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamp[], $12::text[], \
         $13::timestamp[]) WITH ORDINALITY AS e(event_type, resource_type, resource_id, plan_id, \
         version, from_status, to_status, reason, subject, unit, occurred_at, note, recorded_at, n) \
         ORDER BY e.n",
    )
    .bind::<Array<Text>, _>(column(events, |e| e.event_type.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.resource_type.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.resource_id.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.plan_id.as_deref()))
    .bind::<Array<BigInt>, _>(column(events, |e| e.version))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.from_status.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.to_status.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.reason.as_deref()))
    .bind::<Array<Text>, _>(column(events, |e| e.subject.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.unit.as_str()))
    .bind::<Array<Timestamp>, _>(column(events, |e| e.occurred_at))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.note.as_deref()))
    .bind::<Array<Timestamp>, _>(column(events, |e| e.recorded_at))
    .bind::<BigInt, _>(first)
    .execute(conn)
}

/// How many events one positioning run gives positions at most (one transaction, its row locks and
/// dead row versions bounded); more are positioned by further runs.
const POSITIONING_RUN: i64 = 50_000;

/// Gives every committed event without a feed position its position, so that a read that follows
/// sees every event committed before this call, positioned. PostgreSQL only: SQLite's positions are
/// the ids, in commit order already. Run it before reading positions (the feed, a plan's history,
/// the head), outside a write transaction where it can be: inside one, the feed's lock is held
/// until that transaction ends.
pub fn position_committed(conn: &mut DbConn) -> Result<()> {
    match conn {
        DbConn::Postgres(c) => {
            position_committed_pg(c)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

diesel::define_sql_function! {
    /// PostgreSQL only (migration `…000020_feed_positioned_after_commit`): one positioning run of
    /// at most `most` events; how many it positioned. Called through diesel's DSL, not as raw SQL,
    /// so each connection keeps the statement prepared: the listener runs it 20 times a second and
    /// every feed head and plan history read once, and raw SQL was parsed anew each time.
    fn change_events_position_committed(most: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt;
}

/// The statement of one positioning run, named so its test checks the one the feed runs.
fn positioning_run() -> diesel::dsl::select<change_events_position_committed<i64>> {
    diesel::select(change_events_position_committed(POSITIONING_RUN))
}

/// The same on a PostgreSQL connection of its own (the listener's); how many it positioned.
pub(super) fn position_committed_pg(conn: &mut diesel::PgConnection) -> QueryResult<i64> {
    let mut total = 0;
    loop {
        let run: i64 = positioning_run().get_result(conn)?;
        total += run;
        if run < POSITIONING_RUN {
            return Ok(total);
        }
    }
}

/// A page of one plan's events after the feed position `after`.
pub fn page_of_plan(
    conn: &mut DbConn,
    plan_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeEventRow>> {
    Ok(change_events::table
        .filter(change_events::plan_id.eq(plan_id))
        .filter(change_events::position.gt(after))
        .order(change_events::position)
        .limit(limit)
        .select(super::native::columns::<ChangeEventRow>())
        .load_native(conn)?)
}

/// Up to `limit` events after the feed position `after`, in feed order, whoever may see them.
pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<ChangeEventRow>> {
    Ok(change_events::table
        .filter(change_events::position.gt(after))
        .order(change_events::position)
        .limit(limit)
        .select(super::native::columns::<ChangeEventRow>())
        .load_native(conn)?)
}

/// The latest feed position (0 before the first event).
pub fn head(conn: &mut DbConn) -> Result<i64> {
    Ok(change_events::table
        .select(diesel::dsl::max(change_events::position))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// The feed position of the first event after `after`, and when it was recorded.
pub fn next_after(conn: &mut DbConn, after: i64) -> Result<Option<(i64, NaiveDateTime)>> {
    Ok(change_events::table
        .filter(change_events::position.gt(after))
        .order(change_events::position)
        .select((
            change_events::position.assume_not_null(),
            change_events::recorded_at,
        ))
        .first_native(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::prepared::kept_sql;

    /// The listener's poll, a feed head and a plan's history each run a positioning run: one
    /// statement a connection keeps prepared, not raw SQL parsed every time.
    #[test]
    fn a_positioning_run_is_kept_prepared() {
        assert_eq!(
            kept_sql(&positioning_run()),
            "SELECT change_events_position_committed($1)"
        );
    }
}
