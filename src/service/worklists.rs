//! A unit's worklists: follow-ups overdue, summons unanswered, meetings without an established
//! plan, consents about to expire.

use super::Context;
use chrono::Duration;

use crate::db::worklists::{self as store, Entry};
use crate::db::DbConn;
use crate::error::Result;

/// Which worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Worklist {
    /// Plans the unit initiated or coordinates whose follow-up date has passed with no held
    /// follow-up. `due` is the missed follow-up date.
    OverdueFollowUps,
    /// Recipients that have not answered the unit's summons. `due` is their answer date; with
    /// `overdue_only`, only those past it.
    UnansweredSummons,
    /// Plans the unit initiated whose planned meeting has passed without an established plan. `due`
    /// is the meeting day.
    MeetingsWithoutPlan,
    /// Active consents of the unit's open plans that end within `within_days`. `due` is their last
    /// day.
    ExpiringConsents,
}

pub struct Options {
    pub overdue_only: bool,
    pub within_days: i64,
}

/// One page of the caller's unit's worklist, and the cursor of the next page.
pub fn list(
    conn: &mut DbConn,
    ctx: &Context,
    worklist: Worklist,
    options: &Options,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<Entry>, Option<String>)> {
    let unit = ctx.caller.unit.as_str();
    let today = ctx.today();
    let page = limit + 1;
    let entries = match worklist {
        Worklist::OverdueFollowUps => store::overdue_follow_ups(conn, unit, today, cursor, page)?,
        Worklist::UnansweredSummons => {
            let due = options.overdue_only.then(|| today - Duration::days(1));
            store::unanswered_summons(conn, unit, due, cursor, page)?
        }
        Worklist::MeetingsWithoutPlan => {
            store::meetings_without_plan(conn, unit, ctx.now.naive_utc(), cursor, page)?
        }
        Worklist::ExpiringConsents => {
            let until = today + Duration::days(options.within_days);
            store::expiring_consents(conn, unit, today, until, cursor, page)?
        }
    };
    let (entries, next) = super::page(entries, limit, |e| e.key.clone());
    Ok((entries, next))
}
