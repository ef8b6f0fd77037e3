//! `/api/v1/events`: the change feed, for journal systems that must learn of every change.

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::Reader;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::{Error, FieldError, Result};
use crate::service::feed::{self as service, FeedSettings};
use crate::service::Context;
use crate::views::feed::{FeedEvent, FeedPage};

/// The largest page of the feed, the default page, and the longest wait.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;
const MAX_WAIT_SECONDS: u32 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The events after this position: `next_after` of your last page (0, the default, is the
    /// start of the feed).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Long polling: when there is nothing new for you, wait up to this many seconds (0 to 30,
    /// default 0) and answer as soon as something is.
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
}

impl FeedQuery {
    fn checked(&self) -> Result<(i64, usize, Duration)> {
        let mut errors = Vec::new();
        let after = self.after.unwrap_or(0);
        if after < 0 {
            errors.push(FieldError::new(
                "query.after",
                "must be 0 or a position from the feed",
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "query.limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let wait = self.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            errors.push(FieldError::new(
                "query.wait",
                format!("must be between 0 and {MAX_WAIT_SECONDS} seconds"),
            ));
        }
        if errors.is_empty() {
            Ok((after, limit as usize, Duration::from_secs(wait.into())))
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// Read the change feed.
///
/// Every change to a plan or anything in it, to an individual, or to a deviation is one event with
/// a strictly increasing `seq`, in the order the changes were committed. Your unit gets the events
/// it may see *now*, by the access rules of what they concern: plans it initiated or an active
/// consent covers it in (and the closing of a plan it is to be told of), individuals with such a
/// plan, deviations it reported or that concern it.
///
/// **Reading it.** Start with `after=0` (or the `head` of any page), then always ask with
/// `after` = `next_after` of the page you handled. You never miss an event and never see one twice,
/// however many writers commit concurrently. With `wait`, a caught-up reader's request is held until
/// something new arrives (long polling).
///
/// **Retention.** The feed serves events for `FEED_RETENTION_DAYS` (30 by default). A reader that
/// falls further behind gets 410 with `resume_after`: re-read your plans, then continue from there.
///
/// **A position beyond the head** (mistyped, or kept from another database) is never answered as
/// "caught up": it is 422 on `query.after`, with the real head in `resume_after`. `head` in a page
/// is always the feed's real head.
#[utoipa::path(
    get, path = "/api/v1/events", operation_id = "read_change_feed", tag = "events",
    params(FeedQuery),
    responses(
        (status = 200, description = "The next events your unit may see", body = FeedPage),
        (status = 410, description = "The events after `after` have left the retention window: resynchronise from the plans, then continue with `resume_after`"),
        (status = 422, description = "`after` is beyond the feed's head (the head is in `resume_after`), or another parameter breaks a rule"),
    )
)]
pub async fn feed(
    db: web::Data<Db>,
    settings: web::Data<FeedSettings>,
    clock: web::Data<Clock>,
    ctx: Reader,
    query: super::extract::Query<FeedQuery>,
) -> Result<HttpResponse> {
    let (mut after, limit, wait) = query.checked()?;
    let settings = **settings;
    let deadline = Instant::now() + wait;
    let mut commits = db.commits();
    loop {
        // Marked as seen before reading, so a commit during the read wakes the wait below.
        commits.borrow_and_update();
        // Each read of a long poll is at its own moment (retention, and whose plans are visible).
        let reader = Context::new(ctx.caller.clone(), clock.now(), ctx.deadlines);
        let page = db
            .read(move |c| service::page(c, &reader, after, limit, settings))
            .await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if !page.caught_up() || remaining.is_zero() {
            return Ok(HttpResponse::Ok().json(FeedPage {
                items: page.events.into_iter().map(FeedEvent::from).collect(),
                next_after: page.next_after,
                head: page.head,
            }));
        }
        after = page.next_after;
        // A commit this process hears of wakes the wait at once; the poll catches the rest (see
        // `Db::poll_interval`).
        let step = remaining.min(db.poll_interval());
        if let Ok(Err(_closed)) = actix_web::rt::time::timeout(step, commits.changed()).await {
            actix_web::rt::time::sleep(step).await;
        }
    }
}
