//! PostgreSQL: positions committed events, and hears other instances' commits.
//!
//! Several instances of the service may share one PostgreSQL database. A commit of this process
//! wakes its own waiters (long-polling feed readers, the webhook dispatcher) through `Db::commits`.
//! Writers commit their change events unpositioned (`db::events`); this thread, on a connection of
//! its own, positions what was committed every 50 ms — the imports' and the dispatcher's quiet
//! writes and other instances' too — and a run that positioned anything notifies channel
//! `sip_feed`. Every instance LISTENs on it and passes each notification on to its waiters. While it
//! listens, the waiters need to poll only as a safety net (`Db::poll_interval`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use tokio::sync::watch;

/// The channel a positioning run notifies (migration `000020_feed_positioned_after_commit`).
const CHANNEL: &str = "sip_feed";
/// How often committed events are positioned and arrived notifications taken (reading them is local,
/// no round trip, and diesel offers no blocking wait).
const TAKE_EVERY: Duration = Duration::from_millis(50);
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// Listens until the `Db` whose channel `commits` is is gone; reconnects with backoff when the
/// connection breaks. `listening` says whether it is listening now.
pub(super) fn run(url: String, commits: Weak<watch::Sender<u64>>, listening: Arc<AtomicBool>) {
    let mut backoff = RECONNECT_FIRST;
    while commits.strong_count() > 0 {
        match connect(&url) {
            Ok(mut conn) => {
                listening.store(true, Ordering::SeqCst);
                backoff = RECONNECT_FIRST;
                let outcome = pass_on(&mut conn, &commits);
                listening.store(false, Ordering::SeqCst);
                match outcome {
                    Ok(()) => return,
                    Err(e) => log::warn!("feed listener: connection lost ({e}); reconnecting"),
                }
            }
            Err(e) => log::warn!("feed listener: cannot listen ({e}); retrying"),
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

fn connect(url: &str) -> Result<PgConnection, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    conn.batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Positions and passes notifications on until the `Db` is gone (`Ok`) or the connection breaks
/// (`Err`).
fn pass_on(conn: &mut PgConnection, commits: &Weak<watch::Sender<u64>>) -> Result<(), String> {
    loop {
        let positioned = super::events::position_committed_pg(conn).map_err(|e| e.to_string())?;
        let mut heard = positioned > 0;
        for notification in conn.notifications_iter() {
            notification.map_err(|e| e.to_string())?;
            heard = true;
        }
        let Some(sender) = commits.upgrade() else {
            return Ok(());
        };
        if heard {
            sender.send_modify(|n| *n = n.wrapping_add(1));
        }
        drop(sender);
        std::thread::sleep(TAKE_EVERY);
    }
}
