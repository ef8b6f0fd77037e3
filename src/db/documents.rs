//! The rows a whole-plan document is made of, besides the plan itself (which is read, and its
//! access decided, through [`super::plans`]).
//!
//! On PostgreSQL they come in one round trip: the function `plan_document_rows` (migration
//! `2026-11-30-000012_plan_document`) returns them as one JSON object, and its query plan is kept
//! per connection. A unit's read of the whole plan calls it in the select list of the plan's own
//! query ([`visible_plan_with_rows`]: the plan, its access decided and these rows in
//! one statement, where it was sixteen), because PostgreSQL's time went to protocol and
//! syscalls per statement, not execution. SQLite runs in-process and has no round trip to save,
//! so there each table is read by its own module's query, as before. Both paths hand the rows to
//! the same assembling functions, in the same order: on PostgreSQL the function returns each
//! table's rows unordered (`2026-12-06-000029`) and `RowsAsJson::in_document_order` orders them.

use diesel::prelude::*;
use serde::Deserialize;

use super::consents::{self, ConsentRecord, ConsentRow, GiverRow, PartyRow};
use super::goals::{self, GoalRow, InterventionRecord, InterventionRow};
use super::individuals::{self, GuardianRow, IndividualRow};
use super::meetings::{self, ClosureNoticeRow, FollowUpRow, MeetingRow};
use super::plans::{self, PlanRow};
use super::summons::{self, RecipientRow, SummonsRecord, SummonsRow};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::error::{Error, Result};
use chrono::NaiveDate;

/// Everything of one plan that its document shows, each list in the document's order.
#[derive(Debug)]
pub struct DocumentRows {
    pub individual: IndividualRow,
    pub guardians: Vec<GuardianRow>,
    pub consents: Vec<ConsentRecord>,
    pub summons: Vec<SummonsRecord>,
    pub meeting: Option<MeetingRow>,
    pub goals: Vec<GoalRow>,
    pub interventions: Vec<InterventionRecord>,
    pub follow_ups: Vec<FollowUpRow>,
    pub closure_notices: Vec<ClosureNoticeRow>,
}

/// The rows of plan `plan_id`, whose individual is `individual_id`. The caller has already
/// decided that the plan may be read.
pub fn of_plan(conn: &mut DbConn, plan_id: &str, individual_id: &str) -> Result<DocumentRows> {
    match conn {
        DbConn::Postgres(pg) => in_one_round_trip(pg, plan_id, individual_id),
        DbConn::Sqlite(_) => table_by_table(conn, plan_id, individual_id),
    }
}

fn missing_individual() -> Error {
    Error::Internal("a plan names an individual that is not stored".into())
}

fn table_by_table(conn: &mut DbConn, plan_id: &str, individual_id: &str) -> Result<DocumentRows> {
    Ok(DocumentRows {
        individual: individuals::find(conn, individual_id)?.ok_or_else(missing_individual)?,
        guardians: individuals::guardians_of(conn, individual_id)?,
        consents: consents::all_for_plan(conn, plan_id)?,
        summons: summons::of_plan(conn, plan_id)?,
        meeting: meetings::meeting_of(conn, plan_id)?,
        goals: goals::goals_of(conn, plan_id)?,
        interventions: goals::interventions_of(conn, plan_id)?,
        follow_ups: meetings::follow_ups_of(conn, plan_id)?,
        closure_notices: meetings::closure_notices_of(conn, plan_id)?,
    })
}

/// The object `plan_document_rows` returns: one key per table, rows named by column.
#[derive(Deserialize)]
struct RowsAsJson {
    individual: Option<IndividualRow>,
    guardians: Vec<GuardianRow>,
    consents: Vec<ConsentRow>,
    consent_givers: Vec<GiverRow>,
    consent_parties: Vec<PartyRow>,
    summons: Vec<SummonsRow>,
    recipients: Vec<RecipientRow>,
    meeting: Option<MeetingRow>,
    goals: Vec<GoalRow>,
    interventions: Vec<InterventionRow>,
    intervention_goals: Vec<(String, String)>,
    follow_ups: Vec<FollowUpRow>,
    closure_notices: Vec<ClosureNoticeRow>,
}

fn in_one_round_trip(
    conn: &mut diesel::PgConnection,
    plan_id: &str,
    individual_id: &str,
) -> Result<DocumentRows> {
    let rows: String = read_rows(plan_id, individual_id).get_result(conn)?;
    from_json(&rows)
}

/// The statement of [`in_one_round_trip`]: through the DSL, not raw SQL, so it is kept prepared as
/// the unit's whole-plan read is; named so its test checks the one the read runs.
fn read_rows<'a>(
    plan_id: &'a str,
    individual_id: &'a str,
) -> diesel::dsl::select<plans::plan_document_rows<&'a str, &'a str>> {
    diesel::select(plans::plan_document_rows(plan_id, individual_id))
}

/// The plan, if `unit` may see it, with its document's rows: on PostgreSQL one statement (the
/// plan's row and `plan_document_rows` in its select list), on SQLite the plan's query and then
/// each table's.
pub fn visible_plan_with_rows(
    conn: &mut DbConn,
    unit: &HsaId,
    plan_id: &str,
    today: NaiveDate,
) -> Result<Option<(PlanRow, DocumentRows)>> {
    match conn {
        DbConn::Postgres(pg) => plans::find_with_document_rows(pg, unit, plan_id, today)?
            .map(|(plan, rows)| Ok((plan, from_json(&rows)?)))
            .transpose(),
        DbConn::Sqlite(_) => {
            let Some(plan) = plans::find(conn, unit, plan_id, today)? else {
                return Ok(None);
            };
            let rows = table_by_table(conn, &plan.id, &plan.individual_id)?;
            Ok(Some((plan, rows)))
        }
    }
}

impl RowsAsJson {
    /// Puts each list in the document's order — the order each table's own query gives
    /// (SQLite's path, [`table_by_table`]). `plan_document_rows` aggregates its rows unordered
    /// (migration `2026-12-06-000029`): an ordered aggregate sorts in a sort of its own on every
    /// call, a fifth of the function's time for lists of one to five rows, which cost nothing
    /// to sort here. Ids and text keys are `COLLATE "C"` in PostgreSQL: byte order, as `Ord` on
    /// strings.
    fn in_document_order(mut self) -> Self {
        self.guardians.sort_by_key(|g| g.position);
        self.consents.sort_by(|a, b| a.id.cmp(&b.id));
        self.consent_givers
            .sort_by(|a, b| (&a.consent_id, a.position).cmp(&(&b.consent_id, b.position)));
        self.consent_parties
            .sort_by(|a, b| (&a.consent_id, a.position).cmp(&(&b.consent_id, b.position)));
        self.summons.sort_by(|a, b| a.id.cmp(&b.id));
        self.recipients
            .sort_by(|a, b| (&a.summons_id, a.position).cmp(&(&b.summons_id, b.position)));
        self.goals
            .sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        self.interventions
            .sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        self.intervention_goals.sort();
        self.follow_ups
            .sort_by(|a, b| (a.scheduled_on, &a.id).cmp(&(b.scheduled_on, &b.id)));
        self.closure_notices.sort_by_key(|n| n.position);
        self
    }
}

/// The rows `plan_document_rows` returned, in their types and in the document's order.
fn from_json(rows: &str) -> Result<DocumentRows> {
    // A failure here is a mismatch between a table and its row type: the service's fault,
    // reported without the stored values.
    let parsed: RowsAsJson = serde_json::from_str(rows).map_err(|e| {
        Error::Internal(format!(
            "the stored rows of a plan document do not match their types (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let parsed = parsed.in_document_order();
    Ok(DocumentRows {
        individual: parsed.individual.ok_or_else(missing_individual)?,
        guardians: parsed.guardians,
        consents: consents::assemble(
            parsed.consents,
            parsed.consent_givers,
            parsed.consent_parties,
        ),
        // The document does not show the individual's preparations (their summons do).
        summons: summons::assemble(
            parsed.summons.into_iter().map(|s| (s, None)).collect(),
            parsed.recipients,
        ),
        meeting: parsed.meeting,
        goals: parsed.goals,
        interventions: goals::assemble_interventions(
            parsed.interventions,
            parsed.intervention_goals,
        ),
        follow_ups: parsed.follow_ups,
        closure_notices: parsed.closure_notices,
    })
}

#[cfg(test)]
mod tests {
    /// An individual's and the import's whole-plan read on PostgreSQL: one statement the
    /// connection keeps prepared, like a unit's.
    #[test]
    fn a_plans_rows_are_read_by_a_statement_kept_prepared() {
        assert_eq!(
            crate::db::prepared::kept_sql(&super::read_rows("plan", "individual")),
            "SELECT plan_document_rows($1, $2)"
        );
    }
}
