//! SIP-kollen's codes and answers (see `domain::survey` for why they hold no reference).

use super::native::NativeRunQueryDsl;
use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{survey_answers, survey_codes};
use super::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_answers, treat_none_as_default_value = false)]
pub struct AnswerRow {
    pub id: String,
    pub month: String,
    pub principal: String,
    pub participation: i32,
    pub listened_to: i32,
    pub language: i32,
    pub coordinator: i32,
    pub roles_clear: i32,
    pub got_plan: i32,
}

pub fn insert_code(
    conn: &mut DbConn,
    code_hash: &str,
    principal: &str,
    expires_on: NaiveDate,
) -> Result<()> {
    diesel::insert_into(survey_codes::table)
        .values((
            survey_codes::code_hash.eq(code_hash),
            survey_codes::principal.eq(principal),
            survey_codes::expires_on.eq(expires_on),
        ))
        .execute_native(conn)?;
    Ok(())
}

/// Spends a code usable on `today`: deletes it and gives its principal kind; `None` for a code that
/// is unknown, expired or already spent (two answers racing with one code: one wins the delete).
pub fn spend_code(conn: &mut DbConn, code_hash: &str, today: NaiveDate) -> Result<Option<String>> {
    let usable = survey_codes::table
        .filter(survey_codes::code_hash.eq(code_hash))
        .filter(survey_codes::expires_on.ge(today));
    let Some(principal) = usable
        .select(survey_codes::principal)
        .first_native::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let deleted = diesel::delete(usable).execute_native(conn)?;
    Ok((deleted == 1).then_some(principal))
}

pub fn insert_answer(conn: &mut DbConn, row: &AnswerRow) -> Result<()> {
    diesel::insert_into(survey_answers::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// The answers of the months `from` to `to` (both `YYYY-MM`, included).
pub fn answers_between(conn: &mut DbConn, from: &str, to: &str) -> Result<Vec<AnswerRow>> {
    Ok(survey_answers::table
        .filter(survey_answers::month.ge(from))
        .filter(survey_answers::month.le(to))
        .select(super::native::columns::<AnswerRow>())
        .load_native(conn)?)
}

/// Marks the meeting's one code as handed out; false when it already was.
pub fn mark_code_issued(conn: &mut DbConn, meeting_id: &str) -> Result<bool> {
    use super::schema::survey_code_issues;
    let already = survey_code_issues::table
        .find(meeting_id)
        .count()
        .get_result::<i64>(conn)?;
    if already > 0 {
        return Ok(false);
    }
    diesel::insert_into(survey_code_issues::table)
        .values(survey_code_issues::meeting_id.eq(meeting_id))
        .execute_native(conn)?;
    Ok(true)
}
