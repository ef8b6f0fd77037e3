//! Ordlista: the one place where the API's codes become the Swedish words the individual reads in
//! their plan. Each match is exhaustive, so a new state or kind cannot reach a printout without a
//! word chosen for it. Plain Swedish, no abbreviations, as the guidelines ask of what the individual
//! is given.

use crate::domain::consent::{GiverRole, RepresentativeKind};
use crate::domain::plan::{ClosingReason, PlanStatus};
use crate::domain::process::{
    Decision, GoalStatus, InterventionStatus, MeetingForm, ResponsibleParty,
};
use crate::domain::Principal;

/// The Swedish word for a code, as the individual reads it.
pub trait Swedish {
    fn swedish(&self) -> &'static str;
}

impl Swedish for PlanStatus {
    fn swedish(&self) -> &'static str {
        match self {
            PlanStatus::NeedIdentified => "Vi har sett att du behöver en plan",
            PlanStatus::Consented => "Du har sagt ja till en plan",
            PlanStatus::Summoned => "Mötet om planen är bokat",
            PlanStatus::Established => "Planen gäller",
            PlanStatus::Revising => "Planen gäller och ska ändras",
            PlanStatus::Closed => "Planen är avslutad",
            PlanStatus::Refused => "Du sa nej till en plan",
        }
    }
}

impl Swedish for ClosingReason {
    fn swedish(&self) -> &'static str {
        match self {
            ClosingReason::GoalsMet => "målen är nådda",
            ClosingReason::CoordinationNoLongerNeeded => "du behöver inte längre en samordnad plan",
            ClosingReason::ConsentWithdrawn => "du tog tillbaka ditt samtycke",
            ClosingReason::ReplacedByNewPlan => "en ny plan gäller i stället",
            ClosingReason::ConsentRefused => "du sa nej till en plan",
            ClosingReason::Other => "ett annat skäl",
        }
    }
}

/// Who is responsible, as the subject of a sentence: "Regionen", "Kommunen".
impl Swedish for Principal {
    fn swedish(&self) -> &'static str {
        match self {
            Principal::Region => "Regionen",
            Principal::Municipality => "Kommunen",
            Principal::Other => "Någon annan",
        }
    }
}

impl Swedish for ResponsibleParty {
    fn swedish(&self) -> &'static str {
        match self {
            ResponsibleParty::Region => "Regionen",
            ResponsibleParty::Municipality => "Kommunen",
            ResponsibleParty::Other => "Andra",
            ResponsibleParty::Individual => "Du",
        }
    }
}

impl Swedish for GoalStatus {
    fn swedish(&self) -> &'static str {
        match self {
            GoalStatus::Active => "Vi arbetar mot målet",
            GoalStatus::Fulfilled => "Målet är nått",
            GoalStatus::PartlyFulfilled => "Målet är delvis nått",
            GoalStatus::NotFulfilled => "Målet är inte nått",
            GoalStatus::Dropped => "Målet gäller inte längre",
        }
    }
}

impl Swedish for InterventionStatus {
    fn swedish(&self) -> &'static str {
        match self {
            InterventionStatus::Planned => "Ska börja",
            InterventionStatus::Ongoing => "Pågår",
            InterventionStatus::Completed => "Klar",
            InterventionStatus::Cancelled => "Avbruten",
            InterventionStatus::NotCarriedOut => "Blev inte av",
        }
    }
}

impl Swedish for MeetingForm {
    fn swedish(&self) -> &'static str {
        match self {
            MeetingForm::Premises => "på plats",
            MeetingForm::Home => "hemma hos dig",
            MeetingForm::Video => "på video",
            MeetingForm::Phone => "på telefon",
        }
    }
}

impl Swedish for GiverRole {
    fn swedish(&self) -> &'static str {
        match self {
            GiverRole::Individual => "du",
            GiverRole::Guardian => "vårdnadshavare",
            GiverRole::LegalRepresentative => "ställföreträdare",
        }
    }
}

impl Swedish for RepresentativeKind {
    fn swedish(&self) -> &'static str {
        match self {
            RepresentativeKind::Trustee => "god man",
            RepresentativeKind::Administrator => "förvaltare",
            RepresentativeKind::PowerOfAttorney => "ombud med fullmakt",
            RepresentativeKind::ContinuingPowerOfAttorney => "framtidsfullmäktig",
        }
    }
}

impl Swedish for Decision {
    fn swedish(&self) -> &'static str {
        match self {
            Decision::Continue => "Planen fortsätter som den är",
            Decision::Revise => "Planen ska ändras",
            Decision::Close => "Planen avslutas",
        }
    }
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date as it is written in Swedish prose: "3 december 2026".
pub fn date(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!(
        "{} {} {}",
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

/// The day in Sweden of an instant, written in Swedish prose: "3 december 2026" (an instant late
/// in the UTC evening is already the next day in Sweden).
pub fn day(at: chrono::DateTime<chrono::Utc>) -> String {
    date(crate::domain::calendar::swedish_date(at))
}

/// A moment in Swedish time: "3 december 2026 klockan 10.00".
pub fn moment(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let local = at.with_timezone(&crate::domain::calendar::swedish_offset(at));
    format!("{} klockan {}.{:02}", day(at), local.hour(), local.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn dates_and_times_read_as_swedish_prose_in_swedish_time() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()),
            "3 december 2026"
        );
        // 09:00 UTC is 10.00 in winter, 11.00 in summer.
        assert_eq!(
            moment(Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap()),
            "3 december 2026 klockan 10.00"
        );
        assert_eq!(
            moment(Utc.with_ymd_and_hms(2026, 6, 3, 9, 5, 0).unwrap()),
            "3 juni 2026 klockan 11.05"
        );
    }

    #[test]
    fn an_instant_late_in_the_utc_evening_is_printed_on_the_next_day_in_sweden() {
        // A consent withdrawn, a meeting held, at 23:30 UTC on 3 December: 00.30 on the 4th.
        let late = Utc.with_ymd_and_hms(2026, 12, 3, 23, 30, 0).unwrap();
        assert_eq!(day(late), "4 december 2026");
        assert_eq!(moment(late), "4 december 2026 klockan 0.30");
        // In summer from 22:00 UTC.
        let late = Utc.with_ymd_and_hms(2026, 6, 3, 22, 0, 0).unwrap();
        assert_eq!(day(late), "4 juni 2026");
    }
}
