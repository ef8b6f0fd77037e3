//! Who may do what, beyond the roles in the token. Plan access itself — a unit sees a plan it
//! initiated or one the individual's active consent covers it in — is decided in one query filter,
//! `db::plans::visible_to`, which every plan lookup and list passes through. The finer rules of the
//! process are here, pure and unit-tested, and the services call them before they change anything.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::auth::Caller;
use crate::db::events::ChangeEventRow;
use crate::db::goals::InterventionRow;
use crate::db::individuals::IndividualRow;
use crate::db::plans::PlanRow;
use crate::db::DbConn;
use crate::domain::events::ResourceType;
use crate::domain::identity::HsaId;
use crate::domain::ids::IndividualId;
use crate::error::Error;

/// Whose rule decides which plans a caller reads — decided once, from the token, for every read of
/// a plan (`service::plans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanReader<'a> {
    /// The bulk import: the plans it imported, however their consents stand today.
    Import,
    /// The individual herself (an e-service): the plans of the records she may act for
    /// (`service::me::reach`).
    Individual,
    /// A unit: the plans it initiated and those an active consent lets it see
    /// (`db::plans::visible_to`).
    Unit(&'a HsaId),
}

pub fn plan_reader(caller: &Caller) -> PlanReader<'_> {
    if caller.is_import_agent() {
        PlanReader::Import
    } else if caller.person().is_some() {
        PlanReader::Individual
    } else {
        PlanReader::Unit(&caller.unit)
    }
}

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
/// (The bulk import replays what the source system recorded, by whichever unit recorded it.)
pub fn may_change_intervention_status(
    caller: &Caller,
    plan: &PlanRow,
    intervention: &InterventionRow,
) -> Result<(), Error> {
    if caller.is_import_agent()
        || unit_is(caller, intervention.responsible_unit.as_deref())
        || is_coordinating(caller, plan)
    {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the responsible unit or the coordinator's unit records an intervention's status"
                .into(),
        ))
    }
}

/// Only the coordinator's unit records follow-ups and completes revisions (the bulk import replays
/// them as the source system recorded them).
pub fn may_follow_up(caller: &Caller, plan: &PlanRow) -> Result<(), Error> {
    if caller.is_import_agent() || is_coordinating(caller, plan) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the coordinator's unit records follow-ups and revisions of the plan".into(),
        ))
    }
}

/// Whether `individual`'s record is restricted: a person with protected identity (skyddad
/// identitet), or a unit's own registration of such a person's number. A restricted record exists
/// only for those who may see it ([`may_see_individual`]); everyone may see the others.
pub fn is_restricted(individual: &IndividualRow) -> bool {
    individual.protected_identity || individual.duplicate_of.is_some()
}

/// **The visibility rule of an individual**, asked by every operation that takes one — by id in a
/// path, a body or a query, or by identity number. A restricted record is seen by the unit that
/// registered it and by units that see one of the person's plans (and by the bulk import, which
/// works for the source system); for every other unit it does not exist, and the answer is the
/// one for an unknown id. So only units that may already see her open a plan for her.
pub fn may_see_individual(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
    individual: &IndividualRow,
) -> Result<bool, Error> {
    Ok(!visible_individuals(conn, caller, today, std::slice::from_ref(individual))?.is_empty())
}

/// The rule of [`may_see_individual`] for several records at once (the records of one identity
/// number): the ids of those the caller may see on `today`, in one query whatever their number.
pub fn visible_individuals(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
    individuals: &[IndividualRow],
) -> Result<HashSet<IndividualId>, Error> {
    let (open, restricted): (Vec<&IndividualRow>, Vec<&IndividualRow>) =
        individuals.iter().partition(|i| {
            !is_restricted(i)
                || caller.is_import_agent()
                || i.registered_by_unit.as_deref() == Some(caller.unit.as_str())
        });
    let mut visible: HashSet<IndividualId> = open.iter().map(|i| i.id.clone()).collect();
    if !restricted.is_empty() {
        let ids: Vec<&str> = restricted.iter().map(|i| i.id.as_str()).collect();
        visible.extend(crate::db::plans::individuals_with_visible_plan(
            conn,
            &caller.unit,
            &ids,
            today,
        )?);
    }
    Ok(visible)
}

/// What one unit may see of a batch of recorded changes, gathered for the whole batch at once
/// (`service::feed`): the ids among them that the access rules of plans and deviations let it see.
#[derive(Debug, Default)]
pub struct EventAccess {
    /// Plans the unit sees (it initiated them, or an active consent covers it).
    pub plans: HashSet<String>,
    /// Closed plans that name the unit among those to tell of the closing.
    pub notified_of_closing: HashSet<String>,
    /// Individuals the unit registered or with a plan the unit sees.
    pub individuals: HashSet<IndividualId>,
    /// Deviations the unit reported or that concern it.
    pub deviations: HashSet<String>,
}

impl EventAccess {
    /// A unit sees a change of:
    /// - a deviation, when it reported it or the deviation concerns it (as it sees deviations);
    /// - an individual, when it registered them or sees one of their plans — so a protected
    ///   identity never shows to anyone else;
    /// - a plan or anything in it, when it sees the plan now. The closing of a plan also reaches
    ///   every unit to tell of it, although withdrawn consent ended their access in the same step:
    ///   everyone involved must learn that the plan no longer applies.
    pub fn allows(&self, event: &ChangeEventRow) -> bool {
        match (event.resource_type, event.plan_id.as_deref()) {
            (ResourceType::Deviation, _) => self.deviations.contains(&event.resource_id),
            (ResourceType::Individual, _) => self.individuals.contains(event.resource_id.as_str()),
            (_, Some(plan)) => {
                self.plans.contains(plan)
                    || (event.resource_type == ResourceType::Plan
                        && event.to_status.as_deref() == Some("closed")
                        && self.notified_of_closing.contains(plan))
            }
            (_, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::domain::events::EventType;
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
            status: crate::domain::plan::PlanStatus::Established,
            revision: 1,
            coordinator_unit: coordinator.map(|unit| HsaId::parse(unit).unwrap()),
            ..PlanRow::opened(
                IndividualId::new(),
                HsaId::parse("SE2321000016-INI1").unwrap(),
                Principal::Region,
                "t".into(),
                "n".into(),
                at,
            )
        }
    }

    fn event(
        resource_type: ResourceType,
        id: &str,
        plan: Option<&str>,
        to: Option<&str>,
    ) -> ChangeEventRow {
        let at = chrono::Utc::now().naive_utc();
        ChangeEventRow {
            seq: 1,
            event_type: EventType::PlanUpdated,
            resource_type,
            resource_id: id.into(),
            plan_id: plan.map(String::from),
            version: 1,
            from_status: None,
            to_status: to.map(String::from),
            reason: None,
            subject: "t".into(),
            unit: HsaId::parse("SE2321000016-INI1").unwrap(),
            occurred_at: at,
            note: None,
            position: Some(1),
            recorded_at: at,
        }
    }

    #[test]
    fn events_follow_the_access_rules_of_what_they_concern() {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        let lisa = IndividualId::new();
        let access = EventAccess {
            plans: set(&["seen"]),
            notified_of_closing: set(&["withdrawn"]),
            individuals: HashSet::from([lisa.clone()]),
            deviations: set(&["mine"]),
        };
        assert!(access.allows(&event(ResourceType::Goal, "g", Some("seen"), None)));
        assert!(!access.allows(&event(ResourceType::Goal, "g", Some("other"), None)));
        // The closing reaches a unit to tell; nothing else of that plan does.
        assert!(access.allows(&event(
            ResourceType::Plan,
            "withdrawn",
            Some("withdrawn"),
            Some("closed")
        )));
        assert!(!access.allows(&event(
            ResourceType::Consent,
            "c",
            Some("withdrawn"),
            Some("withdrawn")
        )));
        assert!(access.allows(&event(ResourceType::Individual, &lisa, None, None)));
        assert!(!access.allows(&event(ResourceType::Individual, "protected", None, None)));
        // A deviation about a visible plan is still seen only by its parties.
        assert!(access.allows(&event(ResourceType::Deviation, "mine", Some("other"), None)));
        assert!(!access.allows(&event(
            ResourceType::Deviation,
            "theirs",
            Some("seen"),
            None
        )));
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
