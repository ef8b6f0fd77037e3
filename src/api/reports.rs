//! `/api/v1/reports/…`: aggregated figures with no personal data, for a period, as JSON or CSV
//! (`Accept: text/csv`). The `report` role grants them without access to any plan.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Reporter;
use crate::db::Db;
use crate::domain::indicators::{Figure, Period};
use crate::error::{Error, Result};
use crate::service::reports::{self as service, DeviationCounts, PlanCounts};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period (included).
    pub from: NaiveDate,
    /// Last day of the period (included); at most ten years after `from`.
    pub to: NaiveDate,
}

impl ReportQuery {
    fn period(&self) -> Result<Period> {
        if self.to < self.from {
            return Err(Error::validation("query.to", "must not be before from"));
        }
        if (self.to - self.from).num_days() > 3660 {
            return Err(Error::validation(
                "query.to",
                "a report covers at most ten years",
            ));
        }
        Ok(Period {
            from: self.from,
            to: self.to,
        })
    }
}

/// Declares a report body: its period and its rows (one per principal and unit, then "all").
macro_rules! report_of {
    ($report:ident, $row:ty) => {
        #[doc = "A report: its period and its rows (one per principal and unit, then the total \"all\")."]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $report {
            pub from: NaiveDate,
            pub to: NaiveDate,
            pub rows: Vec<$row>,
        }

        impl From<(Period, Vec<$row>)> for $report {
            fn from((period, rows): (Period, Vec<$row>)) -> Self {
                $report { from: period.from, to: period.to, rows }
            }
        }
    };
}

report_of!(PlanReport, PlanCounts);
report_of!(DeviationReport, DeviationCounts);
report_of!(IndicatorReport, Figure);
report_of!(SurveyReport, crate::domain::survey::QuestionFigure);

impl CsvRow for crate::domain::survey::QuestionFigure {
    const HEADER: &'static [&'static str] = &[
        "principal",
        "question",
        "answers",
        "suppressed",
        "mean",
        "answered_1",
        "answered_2",
        "answered_3",
        "answered_4",
        "answered_5",
    ];
    fn cells(&self) -> Vec<String> {
        let mut cells = vec![
            self.principal.clone(),
            self.question.clone(),
            opt(&self.answers),
            self.suppressed.to_string(),
            opt(&self.mean),
        ];
        for i in 0..5 {
            cells.push(opt(&self.distribution.map(|d| d[i])));
        }
        cells
    }
}

/// A report row as CSV cells.
trait CsvRow {
    const HEADER: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

impl CsvRow for PlanCounts {
    const HEADER: &'static [&'static str] = &[
        "principal",
        "unit",
        "established_au124",
        "established_au125",
        "followed_up_aw010",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.principal.clone(),
            self.unit.clone(),
            self.established_au124.to_string(),
            self.established_au125.to_string(),
            self.followed_up_aw010.to_string(),
        ]
    }
}

impl CsvRow for DeviationCounts {
    const HEADER: &'static [&'static str] = &[
        "principal",
        "unit",
        "category",
        "total",
        "suggested",
        "reported",
        "under_investigation",
        "closed",
        "dismissed",
        "median_days_to_close",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.principal.clone(),
            self.unit.clone(),
            self.category.clone(),
            self.total.to_string(),
            self.suggested.to_string(),
            self.reported.to_string(),
            self.under_investigation.to_string(),
            self.closed.to_string(),
            self.dismissed.to_string(),
            opt(&self.median_days_to_close),
        ]
    }
}

impl CsvRow for Figure {
    const HEADER: &'static [&'static str] = &[
        "indicator",
        "principal",
        "unit",
        "numerator",
        "denominator",
        "value",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.indicator.clone(),
            self.principal.clone(),
            self.unit.clone(),
            opt(&self.numerator),
            self.denominator.to_string(),
            opt(&self.value),
        ]
    }
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends.
fn csv<T: CsvRow>(rows: &[T]) -> String {
    fn field(value: &str) -> String {
        if value.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }
    let mut out = T::HEADER.join(",") + "\r\n";
    for row in rows {
        out += &row
            .cells()
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join(",");
        out += "\r\n";
    }
    out
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}

/// Runs a report and answers JSON (the `R` body), or CSV when the client accepts `text/csv`.
async fn run<T, R, F>(
    db: web::Data<Db>,
    query: super::extract::Query<ReportQuery>,
    req: HttpRequest,
    f: F,
) -> Result<HttpResponse>
where
    T: CsvRow + Send + 'static,
    R: From<(Period, Vec<T>)> + Serialize,
    F: Fn(&mut crate::db::DbConn, Period) -> Result<Vec<T>> + Send + 'static,
{
    let period = query.period()?;
    let rows = db.read(move |c| f(c, period)).await?;
    Ok(if wants_csv(&req) {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(csv(&rows))
    } else {
        HttpResponse::Ok().json(R::from((period, rows)))
    })
}

/// Plans established (AU124, AU125) and followed up (AW010) in the period.
///
/// Grouped by the plan's initiating principal and unit. `established_au124`/`au125`: meetings held
/// in the period that established a plan, by procedure code. `followed_up_aw010`: follow-ups held
/// in the period.
#[utoipa::path(
    get, path = "/api/v1/reports/plans", operation_id = "report_plans", tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", content((PlanReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "The period is invalid"),
    )
)]
pub async fn plans(
    db: web::Data<Db>,
    _ctx: Reporter,
    query: super::extract::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    run::<_, PlanReport, _>(db, query, req, service::plan_counts).await
}

/// Deviations that occurred in the period, by the principal and unit they concern and by category:
/// counts per status, and the median whole days from filing to closing over the closed ones.
#[utoipa::path(
    get, path = "/api/v1/reports/deviations", operation_id = "report_deviations", tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", content((DeviationReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "The period is invalid"),
    )
)]
pub async fn deviations(
    db: web::Data<Db>,
    _ctx: Reporter,
    query: super::extract::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    run::<_, DeviationReport, _>(db, query, req, service::deviation_counts).await
}

/// The quality indicators for the period. Each row is one indicator for one principal and unit
/// (then "all"), with its numerator, denominator and value (absent when the denominator is 0):
///
/// - `followed_up_by_date` — by the plan's initiating unit. Denominator: follow-ups scheduled in the
///   period that are due (their day has passed) or held. Numerator: those held on or before their
///   day.
/// - `summoned_units_attended` — by the summoned unit. Denominator: summoned units (region or
///   municipality) whose attendance was recorded at meetings held in the period. Numerator: those
///   that attended.
/// - `plan_given_to_individual` — by the initiating unit. Denominator: meetings held in the period
///   (each establishes a plan). Numerator: the individual received the plan.
/// - `meetings_within_deadline` — by the initiating unit. Denominator: meetings held in the period.
///   Numerator: held within `MEETING_DEADLINE_DAYS` of their summons.
/// - `days_from_consent_to_meeting` — by the initiating unit. The median of whole days from the
///   plan's first given consent to its meeting, over meetings held in the period; the denominator is
///   their count; no numerator.
/// - `closed_because_goals_met` — by the initiating unit. Denominator: plans closed in the period
///   (refused plans are not counted). Numerator: closed because the goals were met.
#[utoipa::path(
    get, path = "/api/v1/reports/indicators", operation_id = "report_indicators", tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", content((IndicatorReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "The period is invalid"),
    )
)]
pub async fn indicators(
    db: web::Data<Db>,
    ctx: Reporter,
    query: super::extract::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let today = ctx.today();
    run::<_, IndicatorReport, _>(db, query, req, move |c, period| {
        service::quality_indicators(c, period, today)
    })
    .await
}

/// SIP-kollen: the survey answers of the months the period touches, by the principal kind that
/// handed out the codes (region, municipality, other), then all — for each of the six questions
/// the number of answers, the mean (1–5) and how many gave each score. A group of fewer than five
/// answers is suppressed (`suppressed: true`, no figures), so no answer can be traced to a person.
/// Answers are kept by month only, so a period covers whole months.
#[utoipa::path(
    get, path = "/api/v1/reports/survey", operation_id = "report_survey", tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", content((SurveyReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "The period is invalid"),
    )
)]
pub async fn survey(
    db: web::Data<Db>,
    _ctx: Reporter,
    query: super::extract::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    run::<_, SurveyReport, _>(db, query, req, service::survey).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let rows = vec![Figure {
            indicator: "a,b".into(),
            principal: "say \"x\"".into(),
            unit: "u".into(),
            numerator: None,
            denominator: 2,
            value: Some(0.5),
        }];
        assert_eq!(
            csv(&rows),
            "indicator,principal,unit,numerator,denominator,value\r\n\"a,b\",\"say \"\"x\"\"\",u,,2,0.5\r\n"
        );
    }
}
