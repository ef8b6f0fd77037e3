//! Who may do what, beyond the roles in the token. Plan access itself — a unit sees a plan it
//! initiated or one the individual's active consent covers it in — is decided in one query filter,
//! `db::plans::visible_to`, which every plan lookup and list passes through. The finer rules of the
//! process are here, pure and unit-tested, and the services call them before they change anything.

use crate::auth::Caller;
use crate::db::goals::InterventionRow;
use crate::db::plans::PlanRow;
use crate::error::Error;

fn unit_is(caller: &Caller, unit: Option<&str>) -> bool {
    unit.is_some_and(|u| u == caller.unit.as_str())
}

/// The coordinator's unit follows the plan up; before a coordinator is appointed, the initiating unit.
fn is_coordinating(caller: &Caller, plan: &PlanRow) -> bool {
    match plan.coordinator_unit.as_deref() {
        Some(unit) => unit == caller.unit.as_str(),
        None => plan.initiating_unit == caller.unit.as_str(),
    }
}

/// Only the unit responsible for an intervention, or the coordinator's unit, records its status.
pub fn may_change_intervention_status(
    caller: &Caller,
    plan: &PlanRow,
    intervention: &InterventionRow,
) -> Result<(), Error> {
    if unit_is(caller, intervention.responsible_unit.as_deref()) || is_coordinating(caller, plan) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the responsible unit or the coordinator's unit records an intervention's status"
                .into(),
        ))
    }
}

/// Only the coordinator's unit records follow-ups and completes revisions.
pub fn may_follow_up(caller: &Caller, plan: &PlanRow) -> Result<(), Error> {
    if is_coordinating(caller, plan) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the coordinator's unit records follow-ups and revisions of the plan".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::domain::identity::HsaId;
    use crate::domain::Principal;

    fn caller(unit: &str) -> Caller {
        Caller::new(
            "t",
            HsaId::parse(unit).unwrap(),
            Principal::Region,
            &[Role::Write],
        )
    }

    fn plan(coordinator: Option<&str>) -> PlanRow {
        let at = chrono::Utc::now().naive_utc();
        PlanRow {
            id: "p".into(),
            individual_id: "i".into(),
            initiating_unit: "SE2321000016-INI1".into(),
            initiating_principal: "region".into(),
            created_by: "t".into(),
            need_reason: "n".into(),
            what_matters: None,
            topics_to_avoid: "[]".into(),
            follows_discharge: false,
            discharge_ready_at: None,
            status: "established".into(),
            closing_reason: None,
            closing_note: None,
            closed_at: None,
            version: 1,
            created_at: at,
            updated_at: at,
            revision: 1,
            next_follow_up_on: None,
            procedure_code: None,
            responsible_principal: None,
            coordinator_name: None,
            coordinator_unit: coordinator.map(String::from),
        }
    }

    #[test]
    fn the_coordinators_unit_follows_up_and_before_it_the_initiating_unit() {
        assert!(may_follow_up(
            &caller("SE2321000016-COO1"),
            &plan(Some("SE2321000016-COO1"))
        )
        .is_ok());
        assert!(may_follow_up(
            &caller("SE2321000016-INI1"),
            &plan(Some("SE2321000016-COO1"))
        )
        .is_err());
        assert!(may_follow_up(&caller("SE2321000016-INI1"), &plan(None)).is_ok());
    }
}
