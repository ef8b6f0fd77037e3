//! The steps of the SIP process after consent: summons, the meeting that establishes the plan,
//! goals, interventions, follow-ups and revision. Each `check_*` function holds the rules of one
//! step and returns every broken rule at once, with the JSON path of its field.

mod content;
mod follow_up;
mod meeting;
mod summons;

pub use content::*;
pub use follow_up::*;
pub use meeting::*;
pub use summons::*;

use std::collections::HashSet;

use super::consent::{Party, PartyKind};
use crate::error::FieldError;

/// Deadlines of the guidelines. Regions differ, so both are settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The meeting is held within this many days of the summons: 21 in Västra Götaland ("within 3
    /// weeks"), 30 in Halland.
    pub meeting_days: i64,
    /// After in-patient care the summons goes out within this many days of the notice that the
    /// patient is ready for discharge (lag 2017:612: 3).
    pub discharge_summons_days: i64,
    /// The unit a deviation concerns gives feedback within this many days (default 60).
    pub deviation_feedback_days: i64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            meeting_days: 21,
            discharge_summons_days: 3,
            deviation_feedback_days: 60,
        }
    }
}

/// The most goals, interventions, summons or follow-ups one plan holds: a plan for one person is
/// never larger, and the bound keeps every per-plan list a single response.
pub const MAX_PER_PLAN: usize = 200;

/// 422 when a plan already holds [`MAX_PER_PLAN`] of something.
pub fn check_room(existing: usize, what: &str) -> Result<(), crate::error::Error> {
    if existing >= MAX_PER_PLAN {
        Err(crate::error::Error::validation(
            "$",
            format!("a plan holds at most {MAX_PER_PLAN} {what}"),
        ))
    } else {
        Ok(())
    }
}

fn errors_or(errors: Vec<FieldError>) -> Result<(), Vec<FieldError>> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// What the plan's active consents allow: the union of the parties they cover.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    pub units: HashSet<String>,
    /// Names of other actors, lower-cased.
    pub actors: HashSet<String>,
    pub permits_summons: bool,
    pub permits_establishing: bool,
}

impl Coverage {
    pub fn covers(&self, party: &Party) -> bool {
        match (&party.hsa_id, party.kind) {
            (Some(hsa_id), _) => self.units.contains(hsa_id),
            (None, PartyKind::Actor) => self.actors.contains(&party.name.trim().to_lowercase()),
            (None, PartyKind::Unit) => false,
        }
    }
}
