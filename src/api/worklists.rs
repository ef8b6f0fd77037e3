//! `/api/v1/worklists/{worklist}`: what the caller's unit must act on.

use super::extract::Reader;
use crate::domain::calendar::swedish_date;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::pagination;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::service::worklists::{self as service, Options, Worklist};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// `unanswered-summons`: only recipients past their answer date (default false).
    pub overdue_only: Option<bool>,
    /// `expiring-consents`: consents ending within this many days (1 to 365, default 30).
    #[param(minimum = 1, maximum = 365)]
    pub within_days: Option<u32>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// One thing to act on.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorklistItem {
    #[schema(format = Uuid)]
    pub plan_id: String,
    /// The day that passed or approaches (each worklist's `due` is in the operation's table).
    pub due: NaiveDate,
    /// Days past `due` (negative: days left).
    pub days_overdue: i64,
    /// `unanswered-summons`: the recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub recipient_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub recipient_name: Option<String>,
    /// `expiring-consents`: the consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub consent_id: Option<String>,
}

crate::views::page_of!(WorklistPage, WorklistItem, "worklist items");

/// A worklist of the caller's unit: what it must act on, paged in the order the items arose.
///
/// Each list is the unit's own — the unit in the token — and shows only plans it may see.
///
/// | worklist | whose list | an item is | `due` is |
/// |---|---|---|---|
/// | `overdue-follow-ups` | the unit that initiated the plan and the coordinator's unit | an established or revising plan whose next follow-up day has passed with no follow-up held | the missed follow-up day |
/// | `unanswered-summons` | the unit that sent the summons | a recipient (`recipient_id`, `recipient_name`) of a plan still `summoned` that has not answered; with `overdue_only=true` only those past their answer day | the day to answer by |
/// | `meetings-without-plan` | the unit that initiated the plan | a plan still `summoned` whose meeting time has passed (the meeting is not recorded) | the meeting day |
/// | `expiring-consents` | the unit that initiated the plan | an active consent (`consent_id`) of an open plan ending within `within_days` (default 30): renew it by recording a new consent, which keeps the plan in its state | the consent's last day |
///
/// `days_overdue` is today (in Sweden) minus `due`: positive when late, negative for days left.
#[utoipa::path(
    get, path = "/api/v1/worklists/{worklist}", operation_id = "get_worklist", tag = "worklists",
    params(("worklist" = Worklist, Path, description = "Which worklist"), WorklistQuery),
    responses(
        (status = 200, description = "One page of the worklist", body = WorklistPage),
        (status = 404, description = "No such worklist"),
        (status = 422, description = "A parameter is out of range"),
    )
)]
pub async fn worklist(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<Worklist>,
    query: super::extract::Query<WorklistQuery>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let worklist = path.into_inner();
    let within_days = query.within_days.unwrap_or(30);
    if !(1..=365).contains(&within_days) {
        return Err(Error::validation(
            "query.within_days",
            "must be between 1 and 365",
        ));
    }
    let options = Options {
        overdue_only: query.overdue_only.unwrap_or(false),
        within_days: within_days.into(),
    };
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let (entries, next_cursor) = db
        .read(move |c| service::list(c, &ctx, worklist, &options, cursor.as_deref(), limit))
        .await?;
    let today = swedish_date(now);
    let items = entries
        .into_iter()
        .map(|e| WorklistItem {
            days_overdue: (today - e.due).num_days(),
            plan_id: e.plan_id.into(),
            due: e.due,
            recipient_id: e.recipient.as_ref().map(|r| r.0.clone()),
            recipient_name: e.recipient.map(|r| r.1),
            consent_id: e.consent_id.map(String::from),
        })
        .collect();
    Ok(HttpResponse::Ok().json(WorklistPage { items, next_cursor }))
}
