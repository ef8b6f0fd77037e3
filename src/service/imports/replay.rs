//! The steps of one record, replayed in the order they happened, each at its own time, each once.

use crate::domain::ids::{
    ConsentId, FollowUpId, Goal, Id, IdKind, IndividualId, Intervention, InterventionId, PlanId,
    SummonsId,
};
use crate::service::Context;
use chrono::{DateTime, Utc};

use crate::db::DbConn;
use crate::domain::import::{fingerprint, is_party, Fingerprint, ImportRecord, Step, Timed};
use crate::domain::plan::PlanDetails;
use crate::domain::process::Attendance;
use crate::error::{Error, Result};
use crate::service::{consents, content, meetings, plans, summons};

use super::record::{follow_up_key, ImportContext};

/// Replays the steps of one record.
pub(super) struct Replay<'a> {
    pub(super) ctx: &'a ImportContext<'a>,
    pub(super) record: &'a ImportRecord,
    /// The initiating unit, which does most steps.
    pub(super) initiator: Context,
    pub(super) individual_id: IndividualId,
    /// Set by the plan step, which every record begins with (`Step::OpenPlan`); until then an id
    /// that names nothing.
    pub(super) plan_id: PlanId,
}

/// A recorded part of the process, which the process never changes afterwards.
fn fixed(what: &str) -> Error {
    Error::validation(
        "$",
        format!("{what} was imported before and has changed since: it cannot change once recorded"),
    )
}

impl Replay<'_> {
    /// Applies one step unless it was imported before just like this; returns whether it changed
    /// anything.
    pub(super) fn step(&mut self, conn: &mut DbConn, timed: Timed) -> Result<bool> {
        let Timed { at, step } = timed;
        let record = self.record;
        match step {
            Step::OpenPlan => self.open_plan(conn, at),
            Step::Consent(i) => {
                let item = &record.consents[i];
                let mut without_withdrawal = item.clone();
                without_withdrawal.withdrawal = None;
                self.once(
                    conn,
                    "consent",
                    &item.external_id,
                    fingerprint(&without_withdrawal),
                    "the consent",
                    |this, conn| {
                        let mut consent = item.consent.clone();
                        this.map_guardians(conn, &mut consent)?;
                        let recorded = consents::record_consent(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            consent,
                        )?;
                        Ok(recorded.consent.id.into())
                    },
                )
            }
            Step::Withdrawal(i) => {
                let item = &record.consents[i];
                let Some(withdrawal) = &item.withdrawal else {
                    return Ok(false);
                };
                let consent_id: ConsentId = self.id_of(conn, "consent", &item.external_id)?;
                self.once(
                    conn,
                    "withdrawal",
                    &item.external_id,
                    fingerprint(withdrawal),
                    "the withdrawal",
                    |this, conn| {
                        let current =
                            consents::get(conn, &this.initiator, &this.plan_id, &consent_id)?;
                        // Withdrawing one consent withdraws them all: a record may list each.
                        if current.consent.withdrawn_at.is_none() {
                            consents::withdraw(
                                conn,
                                &this.initiator.at(at),
                                &this.plan_id,
                                &consent_id,
                                None,
                                withdrawal.reason.clone(),
                            )?;
                        }
                        Ok(consent_id.to_string())
                    },
                )
            }
            Step::Goal(i) => self.goal(conn, i, at),
            Step::Intervention(i) => self.intervention(conn, i, at),
            Step::StatusChange(i, n) => {
                let item = &record.interventions[i];
                let change = &item.status_history[n];
                let intervention_id: InterventionId =
                    self.id_of(conn, "intervention", &item.external_id)?;
                let key = format!("{}#{n}", item.external_id);
                self.once(
                    conn,
                    "status",
                    &key,
                    fingerprint(change),
                    "the status change",
                    |this, conn| {
                        let unit = item.intervention.responsible_unit.clone();
                        let acting = match unit {
                            Some(unit) => {
                                this.ctx.acting(&unit, this.initiator.caller.principal)?
                            }
                            None => this.initiator.clone(),
                        };
                        content::change_intervention_status(
                            conn,
                            &acting.at(at),
                            &this.plan_id,
                            &intervention_id,
                            None,
                            change.change.clone(),
                        )?;
                        Ok(intervention_id.to_string())
                    },
                )
            }
            Step::Summons(s) => {
                let item = &record.summons[s];
                self.once(
                    conn,
                    "summons",
                    &item.external_id,
                    fingerprint(&(item.sent_at, &item.summons)),
                    "the summons",
                    |this, conn| {
                        let sent = summons::send(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            item.summons.clone(),
                        )?;
                        Ok(sent.summons.id.into())
                    },
                )
            }
            Step::Answer(s, a) => {
                let item = &record.summons[s];
                let answer = &item.answers[a];
                let summons_id: SummonsId = self.id_of(conn, "summons", &item.external_id)?;
                let key = format!("{}#{}", item.external_id, answer.recipient.to_lowercase());
                self.once(
                    conn,
                    "answer",
                    &key,
                    fingerprint(answer),
                    "the answer",
                    |this, conn| {
                        let sent = summons::list(conn, &this.initiator, &this.plan_id)?
                            .into_iter()
                            .find(|r| r.summons.id == summons_id)
                            .ok_or_else(|| {
                                Error::Internal("an imported summons is missing".into())
                            })?;
                        let recipient = sent
                            .recipients
                            .iter()
                            .find(|r| is_party(r.hsa_id.as_deref(), &r.name, &answer.recipient))
                            .ok_or_else(|| {
                                Error::validation("$", "names no recipient of the summons")
                            })?;
                        summons::answer(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            &summons_id,
                            &recipient.id,
                            None,
                            answer.answer.clone(),
                        )?;
                        Ok(recipient.id.to_string())
                    },
                )
            }
            Step::Meeting => {
                let Some(meeting) = &record.meeting else {
                    return Ok(false);
                };
                let external = record.external_id.clone();
                self.once(
                    conn,
                    "meeting",
                    &external,
                    fingerprint(meeting),
                    "the meeting",
                    |this, conn| {
                        let summons_id: SummonsId =
                            this.id_of(conn, "summons", &meeting.summons_id)?;
                        let sent = summons::list(conn, &this.initiator, &this.plan_id)?
                            .into_iter()
                            .find(|r| r.summons.id == summons_id)
                            .ok_or_else(|| {
                                Error::Internal("an imported summons is missing".into())
                            })?;
                        let mut input = meeting.clone();
                        input.summons_id = summons_id.into();
                        input.attendance = meeting
                            .attendance
                            .iter()
                            .enumerate()
                            .map(|(i, a)| {
                                sent.recipients
                                    .iter()
                                    .find(|r| {
                                        is_party(r.hsa_id.as_deref(), &r.name, &a.recipient_id)
                                    })
                                    .map(|r| Attendance {
                                        recipient_id: r.id.to_string(),
                                        attended: a.attended,
                                    })
                                    .ok_or_else(|| {
                                        Error::validation(
                                            format!("$.attendance[{i}].recipient_id"),
                                            "names no recipient of the summons",
                                        )
                                    })
                            })
                            .collect::<Result<_>>()?;
                        meetings::record_meeting(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            input,
                        )?;
                        this.map_next_follow_up(conn, 0)?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
            Step::FollowUp(f) => self.follow_up(conn, f, at),
            Step::CompleteRevision(f) => {
                let item = &record.follow_ups[f];
                let Some(revision) = &item.revision else {
                    return Ok(false);
                };
                self.once(
                    conn,
                    "revision",
                    &item.external_id,
                    fingerprint(revision),
                    "the revision",
                    |this, conn| {
                        let mut completion = revision.completion.clone();
                        for decision in completion.intervention_decisions.iter_mut() {
                            decision.intervention_id = this
                                .id_of::<Intervention>(
                                    conn,
                                    "intervention",
                                    &decision.intervention_id,
                                )?
                                .into();
                        }
                        let coordinator = this.coordinator(conn)?.at(at);
                        meetings::complete_revision(conn, &coordinator, &this.plan_id, completion)?;
                        this.map_next_follow_up(conn, f + 1)?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
            Step::Close => {
                let Some(closing) = &record.closing else {
                    return Ok(false);
                };
                let external = record.external_id.clone();
                self.once(
                    conn,
                    "closing",
                    &external,
                    fingerprint(closing),
                    "the closing",
                    |this, conn| {
                        let coordinator = this.coordinator(conn)?.at(at);
                        meetings::close(
                            conn,
                            &coordinator,
                            &this.plan_id,
                            None,
                            closing.reason,
                            closing.note.clone(),
                        )?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
        }
    }

    /// The key of a part of this plan: the external ids of a plan's parts need only be unique
    /// within the plan.
    fn scoped(&self, external_id: &str) -> String {
        format!("{}/{external_id}", self.record.external_id)
    }

    /// Does `apply` once for the key: skipped when it was imported with the same fingerprint,
    /// refused when it was imported differently (it cannot change).
    fn once(
        &mut self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
        print: Fingerprint,
        what: &str,
        apply: impl FnOnce(&mut Self, &mut DbConn) -> Result<String>,
    ) -> Result<bool> {
        let external_id = &self.scoped(external_id);
        match self.ctx.key(conn, kind, external_id)? {
            Some(key) if print.matches(&key.fingerprint) => Ok(false),
            Some(_) => Err(fixed(what)),
            None => {
                let id = apply(self, conn)?;
                let plan_id = self.plan_id.clone();
                self.ctx.put(
                    conn,
                    kind,
                    external_id,
                    &id,
                    Some(&plan_id),
                    print.into_string(),
                )?;
                Ok(true)
            }
        }
    }

    /// Our id of something of this plan imported before (or earlier in this record).
    fn id_of<K: IdKind>(&self, conn: &mut DbConn, kind: &str, external_id: &str) -> Result<Id<K>> {
        self.ctx
            .key(conn, kind, &self.scoped(external_id))?
            .filter(|k| k.plan_id.as_deref() == Some(self.plan_id.as_str()))
            .map(|k| Id::stored(k.resource_id))
            .ok_or_else(|| {
                Error::validation(
                    "$",
                    format!("refers to {kind} {external_id:?}, which is not in the plan yet at this point"),
                )
            })
    }

    fn open_plan(&mut self, conn: &mut DbConn, at: DateTime<Utc>) -> Result<bool> {
        let plan = &self.record.plan;
        let details = PlanDetails {
            need_reason: plan.need_reason.clone(),
            what_matters: plan.what_matters.clone(),
            topics_to_avoid: plan.topics_to_avoid.clone(),
            follows_discharge: plan.follows_discharge,
            discharge_ready_at: plan
                .discharge_ready_at
                .map(crate::domain::truncate_to_micros),
        };
        let print = fingerprint(plan);
        let external = self.record.external_id.clone();
        match self.ctx.key(conn, "plan", &external)? {
            Some(key) if print.matches(&key.fingerprint) => {
                self.plan_id = Id::stored(key.resource_id);
                Ok(false)
            }
            Some(key) => {
                self.plan_id = Id::stored(key.resource_id.clone());
                let current = plans::load(conn, &self.initiator, &self.plan_id)?;
                if *current.initiating_unit != plan.initiating_unit.hsa_id.to_uppercase() {
                    return Err(Error::validation(
                        "$.initiating_unit",
                        "a plan's initiating unit cannot change",
                    ));
                }
                plans::update(
                    conn,
                    &self.initiator,
                    &self.plan_id,
                    &self.individual_id,
                    None,
                    details,
                )?;
                self.ctx.put(
                    conn,
                    "plan",
                    &external,
                    &key.resource_id,
                    Some(&self.plan_id),
                    print.into_string(),
                )?;
                Ok(true)
            }
            None => {
                let created =
                    plans::create(conn, &self.initiator.at(at), &self.individual_id, details)?;
                self.plan_id = created.plan.id;
                let id = &self.plan_id;
                self.ctx
                    .put(conn, "plan", &external, id, Some(id), print.into_string())?;
                Ok(true)
            }
        }
    }

    /// A part of the plan's content (a goal, an intervention): added when it is new, updated when
    /// it changed — where the plan's state allows a change of content, as through the API.
    fn content<K: IdKind>(
        &self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
        print: Fingerprint,
        update: impl FnOnce(&mut DbConn, &Id<K>) -> Result<()>,
        add: impl FnOnce(&mut DbConn) -> Result<Id<K>>,
    ) -> Result<bool> {
        let key = self.scoped(external_id);
        let id = match self.ctx.key(conn, kind, &key)? {
            Some(stored) if print.matches(&stored.fingerprint) => return Ok(false),
            Some(stored) => {
                let id = Id::stored(stored.resource_id);
                update(conn, &id)?;
                id
            }
            None => add(conn)?,
        };
        self.ctx.put(
            conn,
            kind,
            &key,
            &id,
            Some(&self.plan_id),
            print.into_string(),
        )?;
        Ok(true)
    }

    fn goal(&mut self, conn: &mut DbConn, i: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.goals[i];
        let mut input = item.goal.clone();
        if let Some(parent) = &item.goal.parent_id {
            input.parent_id = Some(
                self.id_of::<Goal>(conn, "goal", parent)
                    .map_err(|_| {
                        Error::validation(
                            "$.parent_id",
                            "list a long-term goal before its sub-goals",
                        )
                    })?
                    .into(),
            );
        }
        let (initiator, plan) = (&self.initiator, &self.plan_id);
        let changed = input.clone();
        self.content(
            conn,
            "goal",
            &item.external_id,
            fingerprint(&item.goal),
            |c, id| content::update_goal(c, initiator, plan, id, None, changed).map(|_| ()),
            |c| Ok(content::add_goal(c, &initiator.at(at), plan, input)?.id),
        )
    }

    fn intervention(&mut self, conn: &mut DbConn, i: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.interventions[i];
        let mut input = item.intervention.clone();
        input.goal_ids = item
            .intervention
            .goal_ids
            .iter()
            .map(|g| self.id_of::<Goal>(conn, "goal", g).map(String::from))
            .collect::<Result<_>>()?;
        let (initiator, plan) = (&self.initiator, &self.plan_id);
        let changed = input.clone();
        self.content(
            conn,
            "intervention",
            &item.external_id,
            fingerprint(&item.intervention),
            |c, id| content::update_intervention(c, initiator, plan, id, None, changed).map(|_| ()),
            |c| {
                Ok(
                    content::add_intervention(c, &initiator.at(at), plan, input)?
                        .intervention
                        .id,
                )
            },
        )
    }

    fn follow_up(&mut self, conn: &mut DbConn, f: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.follow_ups[f];
        let Some(held) = &item.record else {
            return Ok(false);
        };
        let follow_up_id: FollowUpId = self.id_of(conn, "follow_up", &item.external_id).map_err(|_| {
            Error::validation(
                "$",
                "no follow-up of the plan was scheduled for this one: the meeting schedules the first, each held follow-up or revision the next",
            )
        })?;
        let key = format!("{}#record", item.external_id);
        self.once(
            conn,
            "follow_up_record",
            &key,
            fingerprint(held),
            "the held follow-up",
            |this, conn| {
                let mut input = held.clone();
                for outcome in input.goal_outcomes.iter_mut() {
                    outcome.goal_id = this.id_of::<Goal>(conn, "goal", &outcome.goal_id)?.into();
                }
                for review in input.intervention_reviews.iter_mut() {
                    review.intervention_id = this
                        .id_of::<Intervention>(conn, "intervention", &review.intervention_id)?
                        .into();
                }
                let coordinator = this.coordinator(conn)?.at(at);
                meetings::record_follow_up(
                    conn,
                    &coordinator,
                    &this.plan_id,
                    &follow_up_id,
                    None,
                    input,
                )?;
                this.map_next_follow_up(conn, f + 1)?;
                Ok(follow_up_id.to_string())
            },
        )
    }

    /// The coordinator's unit, which follows the plan up (before one is appointed, the initiator).
    fn coordinator(&self, conn: &mut DbConn) -> Result<Context> {
        let plan = plans::load(conn, &self.initiator, &self.plan_id)?;
        match plan.coordinator_unit {
            Some(unit) => {
                // Appointed with the meeting, which also names the responsible principal.
                let principal = plan
                    .responsible_principal
                    .unwrap_or(self.initiator.caller.principal);
                self.ctx.acting(&unit, principal)
            }
            None => Ok(self.initiator.clone()),
        }
    }

    /// The follow-up just scheduled (the plan's open one) is the chain's item `n`.
    fn map_next_follow_up(&self, conn: &mut DbConn, n: usize) -> Result<()> {
        let Some(external) = follow_up_key(self.record, n) else {
            return Ok(());
        };
        let open = crate::db::meetings::follow_ups_of(conn, &self.plan_id)?
            .into_iter()
            .filter(|f| f.held_on.is_none())
            .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        if let Some(open) = open {
            let key = self.scoped(external);
            self.ctx.put(
                conn,
                "follow_up",
                &key,
                &open.id,
                Some(&self.plan_id),
                String::new(),
            )?;
        }
        Ok(())
    }

    /// A guardian who consents is named in a record by identity number or name: our guardian id.
    fn map_guardians(
        &self,
        conn: &mut DbConn,
        consent: &mut crate::domain::consent::NewConsent,
    ) -> Result<()> {
        let guardians = crate::db::individuals::guardians_of(conn, &self.individual_id)?;
        for (i, giver) in consent.givers.iter_mut().enumerate() {
            let Some(named) = giver.guardian_id.as_deref() else {
                continue;
            };
            let digits: String = named.chars().filter(char::is_ascii_digit).collect();
            let found = guardians.iter().find(|g| {
                g.identity_number
                    .as_deref()
                    .is_some_and(|n| !digits.is_empty() && n == digits)
                    || g.name.trim().eq_ignore_ascii_case(named.trim())
            });
            match found {
                Some(g) => giver.guardian_id = Some(g.id.clone()),
                None => {
                    return Err(Error::validation(
                        format!("$.givers[{i}].guardian_id"),
                        "names no guardian of the individual (give the guardian's identity number or name)",
                    ))
                }
            }
        }
        Ok(())
    }
}
