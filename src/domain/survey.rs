//! SIP-kollen: the anonymous survey offered to the individual after a SIP meeting (the Stockholm
//! guideline recommends it after every meeting). Its answers "cannot be traced to a person or to a
//! unit" and are compiled at an overall level — so the design keeps no link at all:
//!
//! - staff get a one-time code at the meeting and hand it out on paper; the service keeps only the
//!   code's SHA-256, the principal kind (region, municipality, other) and the last day it can be
//!   used — no plan, meeting, unit or person;
//! - answering spends the code: its row is deleted in the transaction that stores the answer;
//! - an answer keeps a random id (UUIDv4, which carries no time), the month and the principal kind;
//! - the report suppresses every group of fewer than [`MIN_GROUP`] answers.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

/// A code can be used for this many days after the meeting.
pub const CODE_VALID_DAYS: i64 = 90;
/// Groups of fewer answers are not shown in a report: a small group could point at a person.
pub const MIN_GROUP: usize = 5;

/// The letters of a code: no 0/O, 1/I/L, so a code read from paper is typed right.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;

/// The six questions, each answered 1 (not at all) to 5 (completely): (field, wording in Swedish).
pub const QUESTIONS: [(&str, &str); 6] = [
    (
        "participation",
        "Hur kändes det att vara med på mötet? (1 = mycket dåligt, 5 = mycket bra)",
    ),
    (
        "listened_to",
        "Blev du lyssnad på? (1 = inte alls, 5 = helt och hållet)",
    ),
    (
        "language",
        "Var språket på mötet lätt att förstå? (1 = inte alls, 5 = helt och hållet)",
    ),
    (
        "coordinator",
        "Vet du vem som är din samordnare? (1 = inte alls, 5 = helt säkert)",
    ),
    (
        "roles_clear",
        "Är det tydligt vem som gör vad? (1 = inte alls, 5 = helt och hållet)",
    ),
    (
        "got_plan",
        "Har du fått din plan? (1 = nej, inte alls, 5 = ja, hela planen)",
    ),
];

/// One answer to SIP-kollen, with the code handed out at the meeting.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "K7QM-3WXR-9P",
    "participation": 4, "listened_to": 5, "language": 4,
    "coordinator": 5, "roles_clear": 3, "got_plan": 5
}))]
pub struct SurveyAnswer {
    /// The code from the paper given at the meeting (hyphens and spaces do not matter).
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40, example = "K7QM-3WXR-9P")]
    pub code: String,
    /// "Hur kändes det att vara med på mötet?" 1 (mycket dåligt) to 5 (mycket bra).
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub participation: u8,
    /// "Blev du lyssnad på?" 1 (inte alls) to 5 (helt och hållet).
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub listened_to: u8,
    /// "Var språket på mötet lätt att förstå?" 1 to 5.
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub language: u8,
    /// "Vet du vem som är din samordnare?" 1 to 5.
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub coordinator: u8,
    /// "Är det tydligt vem som gör vad?" 1 to 5.
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub roles_clear: u8,
    /// "Har du fått din plan?" 1 (nej) to 5 (ja, hela planen).
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub got_plan: u8,
}

impl SurveyAnswer {
    /// The six scores in the order of [`QUESTIONS`].
    pub fn scores(&self) -> [u8; 6] {
        [
            self.participation,
            self.listened_to,
            self.language,
            self.coordinator,
            self.roles_clear,
            self.got_plan,
        ]
    }
}

/// A new code from 16 random bytes, written `XXXX-XXXX-XX` (about 49 bits).
pub fn new_code(random: [u8; 16]) -> String {
    let letters: String = random[..CODE_LEN]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &letters[..4], &letters[4..8], &letters[8..])
}

/// The code as typed, in its one form (upper case, without hyphens and spaces), if it can be one.
pub fn normalise_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// What is stored of a code: the SHA-256 of its one form, in hex.
pub fn code_hash(normalised: &str) -> String {
    super::lower_hex(&Sha256::digest(normalised.as_bytes()))
}

/// The month an answer is kept under (`2026-11`): no finer time is stored.
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// How one question was answered by one group, or that the group is too small to show.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QuestionFigure {
    /// `region`, `municipality`, `other`, or `all`.
    pub principal: String,
    /// The question's field (see `SurveyAnswer`).
    pub question: String,
    /// The question as the individual read it.
    pub wording: String,
    /// The number of answers, or absent when the group is suppressed.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<usize>,
    /// Fewer than five answers: nothing is shown, so no answer can be traced to a person.
    pub suppressed: bool,
    /// The mean score, 1 to 5, to two decimals.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// How many answered 1, 2, 3, 4 and 5.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<[usize; 5]>,
}

/// Compiles answers (principal kind, six scores) into one figure per group and question: each
/// principal kind in `principals` order, then all; a group under [`MIN_GROUP`] is suppressed.
pub fn compile(answers: &[(String, [u8; 6])], principals: &[&str]) -> Vec<QuestionFigure> {
    let mut figures = Vec::new();
    let groups = principals
        .iter()
        .map(|p| (*p, Some(*p)))
        .chain([("all", None)]);
    for (name, only) in groups {
        let group: Vec<&[u8; 6]> = answers
            .iter()
            .filter(|(p, _)| only.is_none_or(|o| o == p))
            .map(|(_, scores)| scores)
            .collect();
        let suppressed = group.len() < MIN_GROUP;
        for (q, (field, wording)) in QUESTIONS.iter().enumerate() {
            let mut distribution = [0usize; 5];
            for scores in &group {
                distribution[usize::from(scores[q].clamp(1, 5)) - 1] += 1;
            }
            let sum: usize = group.iter().map(|s| usize::from(s[q])).sum();
            let mean = (!group.is_empty())
                .then(|| (sum as f64 / group.len() as f64 * 100.0).round() / 100.0);
            figures.push(QuestionFigure {
                principal: name.to_string(),
                question: field.to_string(),
                wording: wording.to_string(),
                answers: (!suppressed).then_some(group.len()),
                suppressed,
                mean: mean.filter(|_| !suppressed),
                distribution: (!suppressed).then_some(distribution),
            });
        }
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_back_however_it_is_typed() {
        let code = new_code([7; 16]);
        assert_eq!(code.len(), 12);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise_code(&typed), normalise_code(&code));
        assert!(normalise_code("short").is_none());
        assert!(
            normalise_code("0000-0000-00").is_none(),
            "0 is not in the alphabet"
        );
        assert_eq!(code_hash("ABC").len(), 64);
    }

    #[test]
    fn a_group_under_five_is_suppressed() {
        let answers: Vec<(String, [u8; 6])> = (0..5)
            .map(|_| ("region".to_string(), [5, 4, 3, 2, 1, 5]))
            .chain([("municipality".to_string(), [1; 6])])
            .collect();
        let figures = compile(&answers, &["region", "municipality"]);
        let region = &figures[0];
        assert_eq!(region.answers, Some(5));
        assert_eq!(region.mean, Some(5.0));
        assert_eq!(region.distribution, Some([0, 0, 0, 0, 5]));
        let municipality = figures
            .iter()
            .find(|f| f.principal == "municipality")
            .unwrap();
        assert!(
            municipality.suppressed
                && municipality.mean.is_none()
                && municipality.answers.is_none()
        );
        let all = figures.iter().find(|f| f.principal == "all").unwrap();
        assert_eq!(all.answers, Some(6));
        assert_eq!(all.mean, Some(4.33));
    }

    #[test]
    fn an_answer_keeps_only_its_month() {
        assert_eq!(
            month_of(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()),
            "2026-03"
        );
    }
}
