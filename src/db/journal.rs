//! What a write leaves behind besides the change itself: its access-log row and its change event.
//! Stored at once, one row each — or, inside [`collecting`], kept until the end of a unit of work
//! and stored there in one multi-row statement per table.
//!
//! The bulk import replays a plan's whole history as some forty changes in one record: collected,
//! they are two statements instead of eighty. They are still written inside the record's own
//! transaction (savepoint), so a record that fails leaves neither its changes nor their rows, and
//! a record that lands has every row — in the order the changes happened, which is the order of
//! their feed positions.

use std::cell::RefCell;

use super::audit::{self, NewAccess, NewAuditEvent};
use super::events::{self, NewChangeEvent};
use super::DbConn;
use crate::error::Result;

/// The access-log rows and change events of a unit of work, in the order its changes happened.
#[derive(Default)]
pub struct Collected {
    accesses: Vec<NewAccess>,
    events: Vec<NewChangeEvent>,
}

impl Collected {
    /// Adds the rows of a later unit of work.
    pub fn append(&mut self, later: Collected) {
        self.accesses.extend(later.accesses);
        self.events.extend(later.events);
    }

    /// Whether the unit of work changed anything.
    pub fn is_empty(&self) -> bool {
        self.accesses.is_empty() && self.events.is_empty()
    }

    /// Keeps one access-log row for all the unit's changes (the import's record: see
    /// `service::imports::access_of`).
    pub fn as_one_access(&mut self, access: NewAuditEvent) {
        self.accesses = vec![access.into()];
    }

    /// Stores the rows: one multi-row statement per table (in chunks the backends accept).
    pub fn store(self, conn: &mut DbConn) -> Result<()> {
        audit::insert_all(conn, &self.accesses)?;
        events::record_all(conn, &self.events)
    }
}

thread_local! {
    /// The rows of the [`collecting`] unit of work running on this thread, if one is.
    static COLLECTED: RefCell<Option<Collected>> = const { RefCell::new(None) };
}

/// Writes (or, inside [`collecting`], keeps) a change's access-log row and change event.
pub fn write(conn: &mut DbConn, access: NewAuditEvent, event: NewChangeEvent) -> Result<()> {
    let kept = COLLECTED.with(|c| match c.borrow_mut().as_mut() {
        Some(collected) => {
            collected.accesses.push(access.clone().into());
            collected.events.push(event.clone());
            true
        }
        None => false,
    });
    if kept {
        return Ok(());
    }
    audit::insert(conn, &access)?;
    events::record(conn, &event)
}

/// Runs `work`, keeping the rows its changes write, and stores them when it succeeds — before it
/// returns, so inside the same transaction. When it fails they are dropped with its changes.
pub fn collecting<T>(conn: &mut DbConn, work: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    let (result, collected) = kept(|| work(conn))?;
    collected.store(conn)?;
    Ok(result)
}

/// Runs `work`, keeping the rows its changes write, and hands them over when it succeeds: the
/// caller stores them where and when the changes themselves land (the import stores a batch of
/// records' rows together). When it fails they are dropped.
/// Runs on one thread (diesel's connection is used synchronously), which is what makes the
/// thread-local collection sound; units of work do not nest.
pub fn kept<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, Collected)> {
    /// Clears the collection however `work` ends, a panic included.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            COLLECTED.with(|c| c.borrow_mut().take());
        }
    }
    COLLECTED.with(|c| {
        let mut slot = c.borrow_mut();
        assert!(
            slot.is_none(),
            "units of work that collect their rows do not nest"
        );
        *slot = Some(Collected::default());
    });
    let _reset = Reset;
    let result = work()?;
    let collected = COLLECTED
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    Ok((result, collected))
}
