//! The reports' figures: aggregates with no personal data, computed from plain facts so each
//! definition is in one place and can be checked by hand. Every figure is grouped by principal and
//! unit (which unit, each definition says), and a total row (`principal` and `unit` "all") follows.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::calendar::swedish_midnight;

/// A period of whole days, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// The first instant of `from` and the first instant after `to`, both in Sweden (stored as UTC).
    pub fn bounds(&self) -> (NaiveDateTime, NaiveDateTime) {
        let start = swedish_midnight(self.from);
        let end = swedish_midnight(self.to.succ_opt().unwrap_or(self.to));
        (start, end)
    }
}

/// The principal and unit a figure belongs to.
pub type Group = (String, String);

pub const ALL: &str = "all";

/// A report's rows with the total (`principal` "all") after the groups, as the document says;
/// otherwise in the order given (the groups sorted by principal and unit).
pub fn totals_last<T>(mut rows: Vec<T>, principal: impl Fn(&T) -> &str) -> Vec<T> {
    rows.sort_by_key(|row| principal(row) == ALL);
    rows
}

/// A meeting that established a plan, held in the period.
#[derive(Debug, Clone)]
pub struct MeetingFact {
    /// The plan's initiating unit and principal.
    pub group: Group,
    pub procedure_code: String,
    pub held_at: NaiveDateTime,
    pub individual_received_plan: bool,
    pub held_within_deadline: bool,
    /// When the plan's first given consent was recorded.
    pub first_consent_at: Option<NaiveDateTime>,
}

/// A scheduled follow-up.
#[derive(Debug, Clone)]
pub struct FollowUpFact {
    /// The plan's initiating unit and principal.
    pub group: Group,
    pub scheduled_on: NaiveDate,
    pub held_on: Option<NaiveDate>,
}

/// Whether a summoned unit attended a meeting held in the period.
#[derive(Debug, Clone)]
pub struct AttendanceFact {
    /// The summoned unit (HSA-id, or the name without one) and its principal.
    pub group: Group,
    pub attended: bool,
}

/// A plan closed in the period.
#[derive(Debug, Clone)]
pub struct ClosureFact {
    pub group: Group,
    pub goals_met: bool,
}

/// One figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Figure {
    #[schema(example = "meetings_within_deadline")]
    pub indicator: String,
    pub principal: String,
    pub unit: String,
    /// The count that meets the definition (absent for medians).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub numerator: Option<u64>,
    /// The count the figure is taken over.
    pub denominator: u64,
    /// The share (numerator / denominator, 0–1) or the median; absent when the denominator is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub value: Option<f64>,
}

fn share(indicator: &str, facts: impl Iterator<Item = (Group, bool)>) -> Vec<Figure> {
    let mut groups: BTreeMap<Group, (u64, u64)> = BTreeMap::new();
    for (group, counts) in facts {
        for key in [group, (ALL.to_string(), ALL.to_string())] {
            let entry = groups.entry(key).or_default();
            entry.1 += 1;
            entry.0 += u64::from(counts);
        }
    }
    let figures = groups
        .into_iter()
        .map(|((principal, unit), (num, den))| Figure {
            indicator: indicator.into(),
            principal,
            unit,
            numerator: Some(num),
            denominator: den,
            value: (den > 0).then(|| num as f64 / den as f64),
        })
        .collect();
    totals_last(figures, |f| &f.principal)
}

/// The median of a list of numbers (the mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn medians(indicator: &str, facts: impl Iterator<Item = (Group, f64)>) -> Vec<Figure> {
    let mut groups: BTreeMap<Group, Vec<f64>> = BTreeMap::new();
    for (group, value) in facts {
        groups.entry(group).or_default().push(value);
        groups
            .entry((ALL.into(), ALL.into()))
            .or_default()
            .push(value);
    }
    let figures = groups
        .into_iter()
        .map(|((principal, unit), values)| Figure {
            indicator: indicator.into(),
            principal,
            unit,
            numerator: None,
            denominator: values.len() as u64,
            value: median(values),
        })
        .collect();
    totals_last(figures, |f| &f.principal)
}

/// The quality indicators for a period. `today` decides which follow-ups are due.
pub fn indicators(
    meetings: &[MeetingFact],
    follow_ups: &[FollowUpFact],
    attendance: &[AttendanceFact],
    closures: &[ClosureFact],
    period: Period,
    today: NaiveDate,
) -> Vec<Figure> {
    let mut out = Vec::new();
    // followed_up_by_date: follow-ups scheduled in the period that are due (the day has passed) or
    // held; numerator: those held on or before their day.
    out.extend(share(
        "followed_up_by_date",
        follow_ups
            .iter()
            .filter(|f| {
                period.contains(f.scheduled_on) && (f.held_on.is_some() || f.scheduled_on < today)
            })
            .map(|f| {
                (
                    f.group.clone(),
                    f.held_on.is_some_and(|held| held <= f.scheduled_on),
                )
            }),
    ));
    // summoned_units_attended: summoned units with attendance recorded at meetings held in the
    // period, grouped by the summoned unit; numerator: those that attended.
    out.extend(share(
        "summoned_units_attended",
        attendance.iter().map(|a| (a.group.clone(), a.attended)),
    ));
    // plan_given_to_individual: meetings held in the period; numerator: the individual received the plan.
    out.extend(share(
        "plan_given_to_individual",
        meetings
            .iter()
            .map(|m| (m.group.clone(), m.individual_received_plan)),
    ));
    // meetings_within_deadline: meetings held in the period; numerator: held within
    // MEETING_DEADLINE_DAYS of their summons.
    out.extend(share(
        "meetings_within_deadline",
        meetings
            .iter()
            .map(|m| (m.group.clone(), m.held_within_deadline)),
    ));
    // days_from_consent_to_meeting: median over meetings held in the period of the whole days from
    // the plan's first given consent to the meeting.
    out.extend(medians(
        "days_from_consent_to_meeting",
        meetings.iter().filter_map(|m| {
            let consent = m.first_consent_at?;
            Some((m.group.clone(), (m.held_at - consent).num_days() as f64))
        }),
    ));
    // closed_because_goals_met: plans closed in the period (not refused); numerator: closed because
    // the goals were met.
    out.extend(share(
        "closed_because_goals_met",
        closures.iter().map(|c| (c.group.clone(), c.goals_met)),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_row_comes_after_the_groups() {
        let rows = vec!["all", "municipality", "region", "all", "other"];
        assert_eq!(
            totals_last(rows, |r| r),
            vec!["municipality", "region", "other", "all", "all"]
        );
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn g(unit: &str) -> Group {
        ("region".into(), unit.into())
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn follow_ups_count_when_due_or_held_and_on_time_when_held_by_their_day() {
        let period = Period {
            from: day("2026-01-01"),
            to: day("2026-12-31"),
        };
        let f = |scheduled: &str, held: Option<&str>| FollowUpFact {
            group: g("A"),
            scheduled_on: day(scheduled),
            held_on: held.map(day),
        };
        let facts = [
            f("2026-03-01", Some("2026-02-28")), // on time
            f("2026-03-01", Some("2026-03-05")), // late
            f("2026-04-01", None),               // due, not held
            f("2026-12-01", None),               // not due yet: left out
            f("2025-12-01", Some("2025-12-01")), // outside the period
        ];
        let figures = indicators(&[], &facts, &[], &[], period, day("2026-11-22"));
        let total = figures
            .iter()
            .find(|f| f.indicator == "followed_up_by_date" && f.unit == ALL)
            .unwrap();
        assert_eq!((total.numerator, total.denominator), (Some(1), 3));
        assert!((total.value.unwrap() - 1.0 / 3.0).abs() < 1e-9);
    }
}
