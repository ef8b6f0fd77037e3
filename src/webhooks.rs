//! The webhook dispatcher: a thread of its own that follows the change feed for every active
//! subscription, queues the events in the database (so nothing is lost when the service stops) and
//! POSTs them, signed, in feed order, retrying with backoff.
//!
//! Several instances of the service may share one PostgreSQL database: a dispatcher works only the
//! subscriptions it holds a lease on, so each subscription has one sender at a time and its
//! deliveries keep their order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::db::webhooks::{DeliveryRow, SubscriptionRow};
use crate::db::Db;
use crate::domain::webhook::{signature, WebhookSettings};
use crate::service::feed::FeedSettings;
use crate::service::webhooks::{self as service, Outcome};

/// How many deliveries of one subscription are sent before the others get their turn.
const SEND_STEP: i64 = 20;
/// The longest error text kept in the delivery log.
const MAX_ERROR_CHARS: usize = 300;

/// Hooks into a dispatcher's work, for tests that need it to misbehave (none in the service).
#[derive(Clone, Default)]
pub struct DispatcherHooks {
    /// Called before each delivery is taken: a test stalls a dispatcher mid-round here.
    pub before_each_delivery: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// A running dispatcher. Dropping it stops the thread and gives back its leases, so another
/// instance (or the next start) takes over at once.
pub struct Dispatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dispatcher {
    pub fn start(
        db: Db,
        clock: Clock,
        settings: WebhookSettings,
        feed: FeedSettings,
    ) -> Dispatcher {
        Self::start_with(db, clock, settings, feed, DispatcherHooks::default())
    }

    pub fn start_with(
        db: Db,
        clock: Clock,
        settings: WebhookSettings,
        feed: FeedSettings,
        hooks: DispatcherHooks,
    ) -> Dispatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let owner = format!("dispatcher:{}", uuid::Uuid::new_v4());
        let worker = Worker {
            agent: agent(&settings),
            db,
            clock,
            settings,
            feed,
            owner,
            stop: stop.clone(),
            hooks,
        };
        let thread = std::thread::Builder::new()
            .name("webhook-dispatcher".into())
            .spawn(move || worker.run())
            .map_err(|e| log::error!("cannot start the webhook dispatcher: {e}"))
            .ok();
        Dispatcher { stop, thread }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The HTTP client: no redirects (a delivery goes where the unit said, nowhere else), bounded in
/// time, every status returned as a response.
fn agent(settings: &WebhookSettings) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!(
            "sip-service/",
            env!("CARGO_PKG_VERSION"),
            " (webhooks)"
        ))
        .build()
        .into()
}

struct Worker {
    agent: ureq::Agent,
    db: Db,
    clock: Clock,
    settings: WebhookSettings,
    feed: FeedSettings,
    owner: String,
    stop: Arc<AtomicBool>,
    hooks: DispatcherHooks,
}

impl Worker {
    fn run(self) {
        let mut commits = self.db.commits();
        while !self.stop.load(Ordering::SeqCst) {
            commits.borrow_and_update();
            let worked = match self.round() {
                Ok(worked) => worked,
                Err(e) => {
                    log::warn!("webhook dispatcher: {e}");
                    false
                }
            };
            if !worked {
                self.idle(&mut commits);
            }
        }
        if let Err(e) = self.db.write_now(|c| service::release(c, &self.owner)) {
            log::warn!("webhook dispatcher: cannot release its subscriptions: {e}");
        }
    }

    /// Waits for a commit of this process, or for the idle poll (other instances' commits, due
    /// retries), or for the stop.
    fn idle(&self, commits: &mut tokio::sync::watch::Receiver<u64>) {
        let until = Instant::now() + self.settings.idle_poll;
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            if commits.has_changed().unwrap_or(false) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One pass over the subscriptions: queue new events, send what is due. Returns whether any
    /// delivery was attempted (then the next pass follows at once).
    fn round(&self) -> crate::error::Result<bool> {
        let now = self.clock.now();
        let busy = self
            .db
            .read_now(|c| service::with_work(c, &self.owner, now))?;
        let mut worked = false;
        for candidate in busy {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let now = self.clock.now();
            let Some(subscription) = self.db.write_now(|c| {
                service::take_and_queue(
                    c,
                    &candidate.id,
                    &self.owner,
                    now,
                    &self.settings,
                    self.feed,
                )
            })?
            else {
                continue;
            };
            // Each delivery is taken under a renewed lease and recorded only while it still holds:
            // a dispatcher that stalls past its lease stops, and the one that took over goes on.
            for _ in 0..SEND_STEP {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Some(hook) = &self.hooks.before_each_delivery {
                    hook();
                }
                let now = self.clock.now();
                let Some((subscription, delivery)) = self.db.write_now(|c| {
                    service::next_to_send(c, &subscription.id, &self.owner, now, &self.settings)
                })?
                else {
                    break;
                };
                worked = true;
                let outcome = self.send(&subscription, &delivery);
                let recorded = self.db.write_now(|c| {
                    service::record_attempt(
                        c,
                        &subscription.id,
                        &self.owner,
                        delivery,
                        &outcome,
                        &self.settings,
                        self.clock.now(),
                    )
                })?;
                match recorded {
                    Some(true) => {}
                    Some(false) => break,
                    None => {
                        log::warn!(
                            "webhook dispatcher: lost subscription {} to another dispatcher mid-round; \
                             the attempt is not recorded and the new holder sends it again",
                            subscription.id
                        );
                        break;
                    }
                }
            }
        }
        Ok(worked)
    }

    fn send(&self, subscription: &SubscriptionRow, delivery: &DeliveryRow) -> Outcome {
        let attempted_at = self.clock.now();
        let started = Instant::now();
        let body = delivery.payload.as_bytes();
        let signed = signature(&subscription.secret, attempted_at.timestamp(), body);
        let result = self
            .agent
            .post(&subscription.url)
            .header("Content-Type", "application/json")
            .header("X-SIP-Signature", signed)
            .header("X-SIP-Delivery", delivery.id.as_str())
            .header("X-SIP-Event-Seq", delivery.event_seq.to_string())
            .header("X-SIP-Event-Type", delivery.event_type.as_str())
            .send(body);
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        match result {
            Ok(response) => Outcome {
                attempted_at,
                status_code: Some(response.status().as_u16()),
                error: None,
                duration_ms,
            },
            Err(e) => {
                let error: String = e.to_string().chars().take(MAX_ERROR_CHARS).collect();
                log::warn!(
                    "webhook delivery {} of subscription {} failed: {error}",
                    delivery.id,
                    subscription.id
                );
                Outcome {
                    attempted_at,
                    status_code: None,
                    error: Some(error),
                    duration_ms,
                }
            }
        }
    }
}
