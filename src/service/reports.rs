//! The reports: aggregated figures with no personal data, for a period.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::db::{deviations, reports as store, DbConn};
use crate::domain::deviation::DeviationStatus;
use crate::domain::indicators::{indicators, median, totals_last, Figure, Period, ALL};
use crate::error::Result;

/// Plans established (AU124, AU125) and followed up (AW010) in the period, by the plan's
/// initiating principal and unit.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct PlanCounts {
    pub principal: String,
    pub unit: String,
    /// Plans established in the period (meeting held): KVÅ AU124.
    pub established_au124: u64,
    /// Plans established after a discharge from in-patient care: KVÅ AU125.
    pub established_au125: u64,
    /// Follow-ups held in the period: KVÅ AW010.
    pub followed_up_aw010: u64,
}

pub fn plan_counts(conn: &mut DbConn, period: Period) -> Result<Vec<PlanCounts>> {
    let mut groups: BTreeMap<(String, String), PlanCounts> = BTreeMap::new();
    let mut bump = |group: (String, String), f: &dyn Fn(&mut PlanCounts)| {
        for key in [group, (ALL.to_string(), ALL.to_string())] {
            let entry = groups.entry(key.clone()).or_insert_with(|| PlanCounts {
                principal: key.0.clone(),
                unit: key.1.clone(),
                ..Default::default()
            });
            f(entry);
        }
    };
    for meeting in store::meetings(conn, period)? {
        if meeting.procedure_code == "AU125" {
            bump(meeting.group, &|c| c.established_au125 += 1);
        } else {
            bump(meeting.group, &|c| c.established_au124 += 1);
        }
    }
    for group in store::follow_ups_held(conn, period)? {
        bump(group, &|c| c.followed_up_aw010 += 1);
    }
    Ok(totals_last(groups.into_values().collect(), |c| {
        &c.principal
    }))
}

/// Deviations that occurred in the period, by the principal and unit they concern and category.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct DeviationCounts {
    pub principal: String,
    /// The concerned unit's HSA-id, its name when it has none, or "none".
    pub unit: String,
    pub category: String,
    pub total: u64,
    pub suggested: u64,
    pub reported: u64,
    pub under_investigation: u64,
    pub closed: u64,
    pub dismissed: u64,
    /// Median whole days from filing to closing, over the closed ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub median_days_to_close: Option<f64>,
}

pub fn deviation_counts(conn: &mut DbConn, period: Period) -> Result<Vec<DeviationCounts>> {
    let (start, end) = period.bounds();
    let mut groups: BTreeMap<(String, String, String), (DeviationCounts, Vec<f64>)> =
        BTreeMap::new();
    for row in deviations::occurred_between(conn, start, end)? {
        let unit = row
            .concerned_unit
            .map(String::from)
            .or(row.concerned_name.clone())
            .unwrap_or_else(|| "none".into());
        let status = Some(row.status);
        let category = row.category.as_str().to_string();
        for (principal, unit) in [
            (row.concerned_principal.as_str().to_string(), unit),
            (ALL.into(), ALL.into()),
        ] {
            let key = (principal.clone(), unit.clone(), category.clone());
            let (counts, days) = groups.entry(key).or_insert_with(|| {
                (
                    DeviationCounts {
                        principal,
                        unit,
                        category: category.clone(),
                        ..Default::default()
                    },
                    Vec::new(),
                )
            });
            counts.total += 1;
            match status {
                Some(DeviationStatus::Suggested) => counts.suggested += 1,
                Some(DeviationStatus::Reported) => counts.reported += 1,
                Some(DeviationStatus::UnderInvestigation) => counts.under_investigation += 1,
                Some(DeviationStatus::Closed) => counts.closed += 1,
                Some(DeviationStatus::Dismissed) => counts.dismissed += 1,
                None => {}
            }
            if let Some(closed_at) = row.closed_at {
                days.push((closed_at - row.created_at).num_days() as f64);
            }
        }
    }
    let rows = groups
        .into_values()
        .map(|(mut counts, days)| {
            counts.median_days_to_close = median(days);
            counts
        })
        .collect();
    Ok(totals_last(rows, |c: &DeviationCounts| &c.principal))
}

/// The quality indicators for the period.
pub fn quality_indicators(
    conn: &mut DbConn,
    period: Period,
    today: NaiveDate,
) -> Result<Vec<Figure>> {
    let meetings = store::meetings(conn, period)?;
    let follow_ups = store::follow_ups_scheduled(conn, period)?;
    let attendance = store::attendance(conn, period)?;
    let closures = store::closures(conn, period)?;
    Ok(indicators(
        &meetings,
        &follow_ups,
        &attendance,
        &closures,
        period,
        today,
    ))
}

/// SIP-kollen's answers of the months `period` touches, compiled with small groups suppressed.
pub fn survey(
    conn: &mut DbConn,
    period: Period,
) -> Result<Vec<crate::domain::survey::QuestionFigure>> {
    use crate::domain::survey::{compile, month_of};
    let rows =
        crate::db::survey::answers_between(conn, &month_of(period.from), &month_of(period.to))?;
    let answers: Vec<(String, [u8; 6])> = rows
        .into_iter()
        .map(|r| {
            let score = |v: i32| u8::try_from(v).unwrap_or(0);
            (
                r.principal,
                [
                    score(r.participation),
                    score(r.listened_to),
                    score(r.language),
                    score(r.coordinator),
                    score(r.roles_clear),
                    score(r.got_plan),
                ],
            )
        })
        .collect();
    Ok(compile(&answers, &["region", "municipality", "other"]))
}
