//! Cursor pagination shared by every list.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{Error, FieldError};

/// The query of a list that has nothing to filter: just its paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The page size: `limit` if given (1 to [`MAX_LIMIT`]), else [`DEFAULT_LIMIT`].
pub fn limit(limit: Option<u32>) -> Result<i64, Error> {
    match limit {
        None => Ok(DEFAULT_LIMIT.into()),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n.into()),
        Some(_) => Err(Error::Validation(vec![FieldError::new(
            "query.limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )])),
    }
}

/// A cursor is the `next_cursor` of a previous page; anything else is a malformed request.
pub fn cursor(cursor: Option<&str>) -> Result<Option<String>, Error> {
    cursor
        .map(|c| {
            uuid::Uuid::parse_str(c).map(|u| u.to_string()).map_err(|_| Error::BadRequest {
                detail: "query.cursor: not a cursor from this API; pass next_cursor of the previous page".into(),
                errors: vec![FieldError::new("query.cursor", "not a cursor from this API")],
            })
        })
        .transpose()
}

/// A cursor that is a position (the history's and the delivery log's): a number from a previous page.
pub fn position_cursor(cursor: Option<&str>) -> Result<Option<i64>, Error> {
    cursor
        .map(|c| {
            c.parse::<i64>().map_err(|_| Error::BadRequest {
                detail: "query.cursor: not a cursor from this API; pass next_cursor of the previous page".into(),
                errors: vec![FieldError::new("query.cursor", "not a cursor from this API")],
            })
        })
        .transpose()
}
