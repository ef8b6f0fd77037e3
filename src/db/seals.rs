//! Tamper evidence for the access log: every committed access is sealed into one hash chain.
//!
//! A seal is the event's place in the chain (`chain_seq`) and SHA-256 over the previous seal's
//! hash and the event with its targets. Events are sealed shortly after they commit (by the
//! access log's sealer thread, about a second later), in the order they are found — so an event that
//! committed late is sealed late, and nothing has to wait for it. `verify` walks the chain and
//! names the first link that does not hold: an event changed or removed, a seal changed, removed or
//! inserted. Events committed more than a minute ago and still without a seal are reported too.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::audit::{AuditEventRow, AuditTargetRow, StoredAccess};
use super::schema::{audit_events, audit_seals};
use super::DbConn;
use crate::error::Result;

/// The chain's first "previous hash".
pub const GENESIS: &str = "sip-service access log";
/// How far below the last sealed event a late commit is looked for.
const LATE_WINDOW: i64 = 10_000;
/// How many events one sealing run takes at most (one run a second). Sealing re-reads each record
/// and its targets, so under a sustained peak above this it falls behind rather than take the
/// machine's share from requests, and catches up when the peak has passed. A list scenario on
/// PostgreSQL logs ~1,700 reads a second: 500 a run left ~15,000 unsealed after 12 s, 2,000 kept
/// up at no cost measured to lists or creates (`BENCHMARKS.md`, twenty-eighth session). SQLite
/// takes as many since its runs hold the write lock only to write their seals ([`run`]).
const BATCH: i64 = 2_000;
/// How many seals `verify` checks a page, with their records.
const VERIFY_PAGE: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_seals, treat_none_as_default_value = false)]
struct SealRow {
    chain_seq: i64,
    event_id: i64,
    hash: String,
    sealed_at: NaiveDateTime,
}

/// The link of `event` after `previous`: SHA-256 of the previous hash and the event's every field
/// and target, as one JSON array (unambiguous, whatever the fields hold). The array is written
/// straight into the hash, not built as a `serde_json::Value` first: a sealing run of 500 list
/// records hashes 25,000 targets, and the tree was one allocation a field. The bytes are the same
/// (the test below holds it to the earlier form), so chains sealed before still verify.
pub fn link(previous: &str, event: &AuditEventRow, targets: &[AuditTargetRow]) -> Result<String> {
    let targets: Vec<_> = targets
        .iter()
        .map(|t| {
            (
                t.position,
                &t.resource_type,
                &t.resource_id,
                &t.plan_id,
                &t.individual_id,
            )
        })
        .collect();
    let content = (
        previous,
        event.id,
        event
            .occurred_at
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string(),
        &event.subject,
        event.unit.as_str(),
        event.principal.as_str(),
        &event.action,
        &event.resource_type,
        &event.resource_id,
        &event.plan_id,
        &event.individual_id,
        &event.result,
        event.status,
        &event.request_id,
        targets,
    );
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, &content)
        .map_err(|e| crate::error::Error::Internal(format!("an access record's seal: {e}")))?;
    Ok(crate::domain::lower_hex(&hasher.finalize()))
}

fn last_seal(conn: &mut DbConn) -> Result<Option<SealRow>> {
    Ok(audit_seals::table
        .order(audit_seals::chain_seq.desc())
        .select(super::native::columns::<SealRow>())
        .first_native(conn)
        .optional()?)
}

/// The link of a stored access after `previous`: its targets as stored, in their order.
fn link_stored(previous: &str, access: StoredAccess) -> Result<(i64, String)> {
    let record = access.stored_record(None)?;
    Ok((
        record.event.id,
        link(previous, &record.event, &record.targets)?,
    ))
}

/// Names the sealing lock on PostgreSQL (the feed's is 5 370 707).
const SEALING_LOCK: i64 = 5_370_708;

diesel::define_sql_function! {
    /// PostgreSQL's own: takes the advisory lock `key` until the transaction ends, if no one
    /// holds it. Through the DSL, so the sealer's connection keeps it prepared.
    fn pg_try_advisory_xact_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

/// The statement that asks for the sealing lock, named so its test checks the one the sealer runs.
fn ask_for_the_sealing_lock() -> diesel::dsl::select<pg_try_advisory_xact_lock<i64>> {
    diesel::select(pg_try_advisory_xact_lock(SEALING_LOCK))
}

/// The sealer's run, once a second. PostgreSQL: one transaction under the sealing lock
/// ([`seal`]), so that two instances never link the same records. SQLite: the run's records are
/// read and linked in a read transaction, outside the database's one write lock, and only their
/// seals are written under it. Read and linked under the lock, a run of 2,000 listed records kept
/// every request's access record waiting (a list's p99 went from 36–39 ms to 104–105 ms), so runs
/// were held to 500 and fell behind under a list's load (`BENCHMARKS.md`, twenty-eighth and
/// twenty-ninth sessions). SQLite has one writer, so nothing commits between the read and the
/// write; should two processes on one file seal at once, the later run's seals break the unique
/// `chain_seq` and `event_id` and it is rolled back, so the chain cannot fork.
pub fn run(db: &super::Db, now: NaiveDateTime) -> Result<usize> {
    match db.backend() {
        super::Backend::Postgres => db.write_now(|c| seal(c, now)),
        super::Backend::Sqlite => {
            let seals = db.read_now(|c| link_next_run(c, now))?;
            if seals.is_empty() {
                return Ok(0);
            }
            db.write_now(|c| record(c, &seals))
        }
    }
}

/// Seals the committed events that have no seal yet in the transaction of `conn` (on PostgreSQL
/// only by the instance holding the sealing lock — another one sealing meanwhile makes this a
/// no-op). Returns how many were sealed.
pub fn seal(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
    if let DbConn::Postgres(pg) = conn {
        let locked: bool = ask_for_the_sealing_lock().get_result(pg)?;
        if !locked {
            return Ok(0);
        }
    }
    let seals = link_next_run(conn, now)?;
    record(conn, &seals)
}

/// Writes a run's seals.
fn record(conn: &mut DbConn, seals: &[SealRow]) -> Result<usize> {
    for chunk in seals.chunks(1_000) {
        super::insert_rows!(conn, audit_seals::table, chunk)?;
    }
    Ok(seals.len())
}

/// The seals of the next run: up to [`BATCH`] unsealed records after the last seal, each linked
/// to the one before.
fn link_next_run(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<SealRow>> {
    // Planned for this run's values: the window below moves with the log, and a plan kept from
    // when the log was small need not suit it.
    super::native::plan_for_the_values_until_commit(conn)?;
    let last = last_seal(conn)?;
    let (mut seq, mut previous) = match &last {
        Some(s) => (s.chain_seq, s.hash.clone()),
        None => (0, GENESIS.to_string()),
    };
    let from = last.as_ref().map_or(0, |s| s.event_id - LATE_WINDOW);
    // The unsealed among the records since a little before the last sealed one: an anti-join on
    // the seals' unique event index, bounded on both sides. Without the bound on the seals' side
    // PostgreSQL's plan for the statement (kept prepared, so planned without the values) joined
    // the window's records against every seal ever made: at 4,000,000 records a run read the
    // whole index, 787 ms of PostgreSQL's time every second; with it, 3 ms (`BENCHMARKS.md`).
    let accesses: Vec<StoredAccess> = audit_events::table
        .filter(audit_events::id.gt(from))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_seals::table
                .filter(audit_seals::event_id.eq(audit_events::id))
                .filter(audit_seals::event_id.gt(from)),
        )))
        .order(audit_events::id)
        .limit(BATCH)
        .select(super::native::columns::<StoredAccess>())
        .load_native(conn)?;
    let mut seals = Vec::with_capacity(accesses.len());
    for access in accesses {
        seq += 1;
        let (event_id, hash) = link_stored(&previous, access)?;
        previous = hash;
        seals.push(SealRow {
            chain_seq: seq,
            event_id,
            hash: previous.clone(),
            sealed_at: now,
        });
    }
    Ok(seals)
}

/// What `sip-service audit verify` found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Links that held.
    pub sealed: u64,
    /// The first link that does not hold: (chain_seq, event id, why).
    pub first_broken: Option<(i64, i64, String)>,
    /// Events committed before `unsealed_before` that have no seal.
    pub unsealed: Vec<i64>,
}

/// Walks the whole chain, recomputing every link, and lists the events older than
/// `unsealed_before` that were never sealed.
pub fn verify(conn: &mut DbConn, unsealed_before: NaiveDateTime) -> Result<Verification> {
    let mut report = Verification::default();
    let mut previous = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut after = 0;
    loop {
        let seals: Vec<SealRow> = audit_seals::table
            .filter(audit_seals::chain_seq.gt(after))
            .order(audit_seals::chain_seq)
            .limit(VERIFY_PAGE)
            .select(super::native::columns::<SealRow>())
            .load_native(conn)?;
        let Some(last) = seals.last() else { break };
        after = last.chain_seq;
        let ids: Vec<i64> = seals.iter().map(|s| s.event_id).collect();
        let mut accesses: std::collections::HashMap<i64, StoredAccess> = audit_events::table
            .filter(audit_events::id.eq_any(ids))
            .select(super::native::columns::<StoredAccess>())
            .load_native(conn)?
            .into_iter()
            .map(|a: StoredAccess| (a.event.id, a))
            .collect();
        for seal in seals {
            let broken = |why: &str| Some((seal.chain_seq, seal.event_id, why.to_string()));
            if seal.chain_seq != expected_seq {
                report.first_broken = broken("a seal before this one is missing");
                return Ok(report);
            }
            let Some(access) = accesses.remove(&seal.event_id) else {
                report.first_broken = broken("the sealed event is missing from the log");
                return Ok(report);
            };
            let (_, hash) = link_stored(&previous, access)?;
            if hash != seal.hash {
                report.first_broken =
                    broken("the event, its targets or the seal differ from what was sealed");
                return Ok(report);
            }
            previous = hash;
            expected_seq += 1;
            report.sealed += 1;
        }
    }
    report.unsealed = audit_events::table
        .filter(audit_events::occurred_at.lt(unsealed_before))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_seals::table.filter(audit_seals::event_id.eq(audit_events::id)),
        )))
        .order(audit_events::id)
        .limit(100)
        .select(audit_events::id)
        .load_native(conn)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sealer asks for its lock every second: one statement its connection keeps prepared.
    #[test]
    fn the_sealing_lock_is_asked_for_by_a_statement_kept_prepared() {
        assert_eq!(
            crate::db::prepared::kept_sql(&ask_for_the_sealing_lock()),
            "SELECT pg_try_advisory_xact_lock($1)"
        );
    }
    use crate::domain::identity::HsaId;
    use crate::domain::Principal;

    /// The link as the first sealer computed it, through a `serde_json::Value`: every chain sealed
    /// so far was sealed with it, so `link` must give the same hash for the same record.
    fn link_as_sealed_before(
        previous: &str,
        event: &AuditEventRow,
        targets: &[AuditTargetRow],
    ) -> String {
        let content = serde_json::json!([
            previous,
            event.id,
            event
                .occurred_at
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string(),
            event.subject,
            event.unit.as_str(),
            event.principal.as_str(),
            event.action,
            event.resource_type,
            event.resource_id,
            event.plan_id,
            event.individual_id,
            event.result,
            event.status,
            event.request_id,
            targets
                .iter()
                .map(|t| serde_json::json!([
                    t.position,
                    t.resource_type,
                    t.resource_id,
                    t.plan_id,
                    t.individual_id
                ]))
                .collect::<Vec<_>>(),
        ]);
        Sha256::digest(content.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn event(subject: &str, plan_id: Option<&str>) -> AuditEventRow {
        AuditEventRow {
            id: 9_007_199_254_740_993,
            occurred_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
                .unwrap()
                .and_hms_micro_opt(21, 5, 7, 120)
                .unwrap(),
            subject: subject.to_string(),
            unit: HsaId::parse("SE2321000016-PSY1").unwrap(),
            principal: Principal::Region,
            action: "list".to_string(),
            resource_type: "plans".to_string(),
            resource_id: None,
            plan_id: plan_id.map(str::to_string),
            individual_id: None,
            result: "allowed".to_string(),
            status: -200,
            request_id: "req-1".to_string(),
        }
    }

    fn target(position: i32, individual_id: Option<&str>) -> AuditTargetRow {
        AuditTargetRow {
            event_id: 1,
            position,
            resource_type: "plan".to_string(),
            resource_id: Some(format!("p-{position}")),
            plan_id: Some(format!("p-{position}")),
            individual_id: individual_id.map(str::to_string),
        }
    }

    #[test]
    fn a_link_is_the_hash_it_was_before_for_any_record() {
        let awkward =
            "quote \" backslash \\ tab \t newline \n nul \u{0} del \u{7f} åäö 🙂 </script>";
        let cases = [
            (GENESIS, event("alice", None), vec![]),
            (
                "ab12",
                event(awkward, Some(awkward)),
                vec![target(0, Some(awkward)), target(1, None)],
            ),
            (
                awkward,
                event("", Some("")),
                (0..50).map(|i| target(i, Some("i"))).collect(),
            ),
        ];
        for (previous, event, targets) in &cases {
            let hash = link(previous, event, targets).unwrap();
            assert_eq!(hash, link_as_sealed_before(previous, event, targets));
            assert_eq!(hash.len(), 64);
        }
        // A changed target changes the link.
        let (previous, event, mut targets) = cases[1].clone();
        targets[1].individual_id = Some("someone".into());
        assert_ne!(
            link(previous, &event, &targets).unwrap(),
            link(previous, &event, &cases[1].2).unwrap()
        );
    }
}
