//! The access log: every read and write of personal data, and every denied attempt, is recorded —
//! who (subject, unit, principal), when, what (action, resource, plan, individual), the result and
//! the request id — as Swedish patient-data law asks of journal systems.
//!
//! - One row is one request's access (or one change). What the answer showed besides what its
//!   path names — each plan of a list, the individual of a whole plan, a search's match — are the
//!   row's targets, held in the row itself (`db::audit`), so a list of 50 plans is one row.
//! - Writes are recorded in the same transaction as the change (`service::record`).
//! - Reads and denials are recorded here, by a middleware on `/api/v1`, before the response leaves:
//!   a dedicated writer thread takes every record waiting and stores them in one transaction (group
//!   commit), so a burst of concurrent reads costs one fsync, not one each. If the log cannot be
//!   written, the read is refused with 503 rather than answered unlogged.

use std::sync::mpsc;

use chrono::NaiveDateTime;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::Method, web, HttpMessage, ResponseError};

use crate::auth::Caller;
use crate::db::audit::{insert_all, NewAccess, NewAuditEvent, NewAuditTarget};
use crate::db::Db;
use crate::error::Error;

/// What a response read that its path does not name: a list's plans, a search's individual. Stored
/// as the targets of the request's access, except one with an `action` of its own.
#[derive(Debug, Clone, Default)]
pub struct AuditTargets(pub Vec<Target>);

#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The action to record instead of the request's own (e.g. a denied search's match).
    pub action: Option<&'static str>,
    /// Who acted, instead of the request's caller as it stands: an individual reading, in one
    /// request, their own plans and a child's as a guardian (`ActingAs::subject`).
    pub subject: Option<String>,
    pub resource_type: std::borrow::Cow<'static, str>,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
}

/// Who acted, when an individual's token acted for someone else (a guardian for a child): the
/// subject the access is recorded under (`ActingAs::subject`), set by the `/me` handlers.
#[derive(Debug, Clone)]
pub struct ActedAs(pub String);

struct Batch {
    accesses: Vec<NewAccess>,
    /// Told whether the batch is stored; the request awaits it without holding a thread.
    done: tokio::sync::oneshot::Sender<bool>,
}

/// The handle requests use to record reads; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<Batch>,
    /// Held by every handle: when the last one goes, the sealer stops.
    _sealing: mpsc::Sender<()>,
    /// The application's clock: an access is recorded at its time.
    clock: crate::clock::Clock,
}

/// How often the writer seals the log's new records into its hash chain.
const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How many waiting requests' records one commit takes at most.
const GROUP_LIMIT: usize = 1024;

impl AuditLog {
    /// Starts the writer thread.
    /// Starts the writer, and with `sealing` the sealer (`AUDIT_SEALING`).
    pub fn start(db: Db, clock: crate::clock::Clock, sealing: bool) -> AuditLog {
        let (sender, receiver) = mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn({
                let db = db.clone();
                move || write_groups(&db, &receiver)
            })
            .map(|_| ())
            .unwrap_or_else(|e| log::error!("cannot start the access-log writer: {e}"));
        // Sealing has a thread of its own: a read waiting for its record's commit never waits
        // behind a sealing run.
        let (sealer_alive, stop) = mpsc::channel::<()>();
        if sealing {
            std::thread::Builder::new()
                .name("audit-sealer".into())
                .spawn({
                    let clock = clock.clone();
                    move || seal_until_stopped(&db, &clock, &stop)
                })
                .map(|_| ())
                .unwrap_or_else(|e| log::error!("cannot start the access-log sealer: {e}"));
        }
        AuditLog {
            sender,
            _sealing: sealer_alive,
            clock,
        }
    }

    /// Stores `accesses` and returns once they are committed.
    pub async fn record(&self, accesses: Vec<NewAccess>) -> Result<(), Error> {
        if accesses.is_empty() {
            return Ok(());
        }
        // The channel to the writer never blocks a sender; the answer is awaited, so a read waiting
        // for its group's commit holds no thread (it used to hold one of the blocking pool's).
        let (done, wait) = tokio::sync::oneshot::channel();
        let queue =
            crate::metrics::recording().then(|| &crate::metrics::metrics().access_log_queue);
        queue.inspect(|q| q.inc());
        let sent = self.sender.send(Batch { accesses, done }).is_ok();
        let stored = sent && wait.await.unwrap_or(false);
        queue.inspect(|q| q.dec());
        if stored {
            Ok(())
        } else {
            Err(Error::Unavailable(
                "the access log cannot be written, so the request is refused".into(),
            ))
        }
    }
}

/// Takes every batch waiting (up to `GROUP_LIMIT`) and stores them in one statement (SQLite: one
/// transaction), until the service stops. One writer: a second one taking turns made the list of
/// 50 faster (its 51 records a read make big groups) but every other read slower (smaller groups,
/// more statements): `BENCHMARKS.md`.
fn write_groups(db: &Db, receiver: &mpsc::Receiver<Batch>) {
    while let Ok(first) = receiver.recv() {
        let mut batches = vec![first];
        while batches.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(batch) => batches.push(batch),
                Err(_) => break,
            }
        }
        let accesses: Vec<NewAccess> = batches
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.accesses))
            .collect();
        let started = std::time::Instant::now();
        let stored = db.append_now(|c| insert_all(c, &accesses)).is_ok();
        if crate::metrics::recording() {
            let metrics = crate::metrics::metrics();
            metrics.access_log_group.observe(accesses.len() as f64);
            metrics
                .access_log_commit_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        if !stored {
            log::error!(
                "the access log could not be written; {} request(s) refused",
                batches.len()
            );
        }
        for batch in batches {
            let _ = batch.done.send(stored);
        }
    }
}

/// Seals what has been committed into the log's hash chain (`db::seals`), once a second, until
/// the last handle of the log is dropped: the writer's groups and the records the changes wrote.
fn seal_until_stopped(db: &Db, clock: &crate::clock::Clock, stop: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(SEAL_EVERY) {
        let now = clock.now().naive_utc();
        if let Err(e) = crate::db::seals::run(db, now) {
            log::warn!("the access log could not be sealed now (it is tried again): {e}");
        }
    }
}

/// One access record for `caller`.
pub fn event(
    caller: &Caller,
    at: NaiveDateTime,
    action: &str,
    status: u16,
    target: Target,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: at,
        subject: caller.subject.clone(),
        unit: caller.unit.as_str().to_string(),
        principal: caller.principal.as_str().to_string(),
        action: target.action.unwrap_or(action).to_string(),
        resource_type: target.resource_type.into_owned(),
        resource_id: target.resource_id,
        plan_id: target.plan_id,
        individual_id: target.individual_id,
        result: if status < 400 { "allowed" } else { "denied" }.to_string(),
        status: i32::from(status),
        request_id: caller.request_id.clone(),
    }
}

/// The resource a route names: its pattern's last segment that is not an id (`plans`, `goals`,
/// `withdraw`, …). Only the pattern of a route under `/api/v1/` is read — never the path a client
/// sent, which may hold anything — so a request that matched no route is `other`.
fn resource_of(pattern: Option<&str>) -> String {
    pattern
        .and_then(|p| p.strip_prefix("/api/v1/"))
        .and_then(|route| {
            route
                .rsplit('/')
                .find(|s| !s.starts_with('{') && !s.is_empty())
        })
        .unwrap_or("other")
        .to_string()
}

/// Middleware on `/api/v1` (inside authentication): records reads and denied attempts before the
/// response is sent. Successful writes are recorded by the change itself, in its transaction.
pub async fn record_access(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let caller = req.extensions().get::<Caller>().cloned();
    let log = req.app_data::<web::Data<AuditLog>>().cloned();
    let mut response = next.call(req).await?;
    // The route is known only after the scope has routed the request.
    let routed = response.request();
    let pattern = crate::trace::route_of(routed);
    let is_read = routed.method() == Method::GET
        || pattern
            .as_deref()
            .is_some_and(|p| p.ends_with("/individuals/search"));
    let param = |name: &str| routed.match_info().get(name).map(String::from);
    let (plan_id, individual_id) = (param("plan_id"), param("individual_id"));
    let last_id = [
        "consent_id",
        "recipient_id",
        "item_id",
        "deviation_id",
        "subscription_id",
        "import_id",
        "summons_id",
        "revision",
    ]
    .iter()
    .find_map(|n| param(n))
    .or_else(|| plan_id.clone())
    .or_else(|| individual_id.clone());
    let action = if is_read {
        "read".to_string()
    } else {
        routed.method().as_str().to_lowercase()
    };
    let status = response.status().as_u16();
    let denied = matches!(status, 403 | 404);
    let (Some(caller), Some(log)) = (caller, log) else {
        return Ok(response.map_into_left_body());
    };
    let caller = match response.response().extensions().get::<ActedAs>() {
        Some(acted_as) => caller.acting_as(acted_as.0.clone()),
        None => caller,
    };
    if !(denied || (is_read && status < 400)) {
        return Ok(response.map_into_left_body());
    }
    let resource_type = resource_of(pattern.as_deref()).into();
    let at = log.clock.now().naive_utc();
    let mut access = NewAccess::from(event(
        &caller,
        at,
        &action,
        status,
        Target {
            action: None,
            subject: None,
            resource_type,
            resource_id: last_id,
            plan_id,
            individual_id,
        },
    ));
    // What the answer showed besides its path's resource is the access's targets; a match that
    // is recorded as an action of its own (a hidden person's number) is an access of its own.
    // Taken, not cloned: a list's fifty targets are moved into its record.
    let mut accesses = Vec::new();
    let shown = response
        .response_mut()
        .extensions_mut()
        .remove::<AuditTargets>();
    if let Some(AuditTargets(targets)) = shown {
        access.targets.reserve(targets.len());
        for mut target in targets {
            match (target.action, target.subject.take()) {
                (_, Some(subject)) => accesses
                    .push(event(&caller.acting_as(subject), at, &action, status, target).into()),
                (Some(_), None) => {
                    accesses.push(event(&caller, at, &action, status, target).into())
                }
                (None, None) => access.targets.push(NewAuditTarget {
                    resource_type: target.resource_type.into_owned(),
                    resource_id: target.resource_id,
                    plan_id: target.plan_id,
                    individual_id: target.individual_id,
                }),
            }
        }
    }
    accesses.insert(0, access);
    match log.record(accesses).await {
        Ok(()) => Ok(response.map_into_left_body()),
        Err(error) => {
            let (request, _) = response.into_parts();
            Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resource_of;

    #[test]
    fn a_record_names_the_routes_resource_never_the_clients_path() {
        let of = |p: Option<&str>| resource_of(p);
        assert_eq!(of(Some("/api/v1/plans/{plan_id}")), "plans");
        assert_eq!(
            of(Some(
                "/api/v1/plans/{plan_id}/consents/{consent_id}/withdraw"
            )),
            "withdraw"
        );
        assert_eq!(of(Some("/api/v1/audit-events")), "audit-events");
        // No route matched (the scope's own pattern, or none at all).
        assert_eq!(of(Some("/api/v1")), "other");
        assert_eq!(of(None), "other");
    }
}
