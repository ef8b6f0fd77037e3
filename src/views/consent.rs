//! The consent as the API shows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page_of;
use crate::db::consents::ConsentRecord;
use crate::db::parse_json_list;
use crate::domain::consent::{
    is_active, ConsentForm, ConsentGiver, ConsentOutcome, ConsentPermissions, Party,
};
use crate::error::Result;

/// Who recorded something: the subject and unit of the token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordedBy {
    pub subject: String,
    pub unit: String,
}

/// A recorded consent or refusal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub outcome: ConsentOutcome,
    pub form: ConsentForm,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub documented_by: Option<String>,
    pub givers: Vec<ConsentGiver>,
    pub covered_parties: Vec<Party>,
    pub permissions: ConsentPermissions,
    #[schema(value_type = Vec<crate::domain::consent::ShortText>)]
    pub not_consented_to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub note: Option<String>,
    /// Given, not withdrawn, and today within its validity.
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub withdrawal_reason: Option<String>,
    pub recorded_by: RecordedBy,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

page_of!(ConsentPage, Consent, "consents");

impl Consent {
    pub fn from_record(record: ConsentRecord, today: NaiveDate) -> Result<Consent> {
        let c = record.consent;
        let outcome = c.outcome;
        let withdrawn_at = c.withdrawn_at.map(|t| t.and_utc());
        let givers = record
            .givers
            .into_iter()
            .map(|g| {
                Ok(ConsentGiver {
                    role: g.role,
                    guardian_id: g.guardian_id,
                    name: g.name,
                    representative_kind: g.representative_kind,
                    identity_number: g.identity_number,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let covered_parties = record
            .parties
            .into_iter()
            .map(|p| {
                Ok(Party {
                    kind: p.kind,
                    hsa_id: p.hsa_id.map(String::from),
                    name: p.name,
                    principal: p.principal,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Consent {
            active: is_active(outcome, withdrawn_at, c.valid_from, c.valid_until, today),
            outcome,
            form: c.form,
            givers,
            covered_parties,
            permissions: ConsentPermissions {
                share_information: c.permits_sharing,
                send_summons: c.permits_summons,
                establish_plan: c.permits_establishing,
                involve_relatives: c.permits_relatives,
            },
            not_consented_to: parse_json_list(&c.not_consented_to, "consent exclusions")?,
            withdrawn_at,
            id: c.id.into(),
            plan_id: c.plan_id.into(),
            documented_by: c.documented_by,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            note: c.note,
            withdrawal_reason: c.withdrawal_reason,
            recorded_by: RecordedBy {
                subject: c.recorded_by,
                unit: c.recorded_by_unit.into(),
            },
            version: c.version,
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
        })
    }
}
