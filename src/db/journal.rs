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

#[derive(Default)]
struct Collected {
    accesses: Vec<NewAccess>,
    events: Vec<NewChangeEvent>,
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
/// Runs on one thread (diesel's connection is used synchronously), which is what makes the
/// thread-local collection sound; units of work do not nest.
pub fn collecting<T>(conn: &mut DbConn, work: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
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
    let result = work(conn)?;
    let collected = COLLECTED
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    audit::insert_all(conn, &collected.accesses)?;
    events::record_all(conn, &collected.events)?;
    Ok(result)
}
