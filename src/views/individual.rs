//! The individual as the API shows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::individuals::IndividualRecord;
use crate::domain::identity::{IdentityKind, IdentityNumber};
use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Guardian {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub identity_number: Option<String>,
}

/// A registered individual.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
    "identity_number": "191212121212",
    "identity_kind": "personnummer",
    "birth_date": "1912-12-12",
    "given_name": "Lisa",
    "family_name": "Testsson",
    "protected_identity": false,
    "guardians": [],
    "version": 1,
    "created_at": "2026-11-22T10:00:00Z",
    "updated_at": "2026-11-22T10:00:00Z"
}))]
pub struct Individual {
    #[schema(format = Uuid)]
    pub id: String,
    /// Canonical form: 12 digits.
    pub identity_number: String,
    pub identity_kind: IdentityKind,
    pub birth_date: NaiveDate,
    pub given_name: String,
    pub family_name: String,
    pub protected_identity: bool,
    pub guardians: Vec<Guardian>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Individual {
    pub fn from_record(record: IndividualRecord, today: NaiveDate) -> Result<Individual> {
        let i = record.individual;
        let number = IdentityNumber::parse(&i.identity_number, today)
            .map_err(|_| Error::Internal("a stored identity number does not parse".into()))?;
        Ok(Individual {
            identity_kind: number.kind(),
            birth_date: number.birth_date(),
            id: i.id.into(),
            identity_number: i.identity_number,
            given_name: i.given_name,
            family_name: i.family_name,
            protected_identity: i.protected_identity,
            guardians: record
                .guardians
                .into_iter()
                .map(|g| Guardian {
                    id: g.id,
                    name: g.name,
                    identity_number: g.identity_number,
                })
                .collect(),
            version: i.version,
            created_at: i.created_at.and_utc(),
            updated_at: i.updated_at.and_utc(),
        })
    }
}
