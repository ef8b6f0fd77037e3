//! The access log (`audit_events`, and `audit_event_targets` under it): appended to, never
//! changed. One row of `audit_events` is one request's access (or one change); what the answer
//! showed besides what its path names — each plan of a list, the individual of a whole plan, a
//! search's match — are its targets, narrow rows that "who has read this person's data" finds by
//! individual (or, for a target naming only a plan, by plan).

use std::collections::BTreeMap;

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

use super::schema::{audit_event_targets, audit_events, individuals, plans};
use super::{DbConn, MultiBackend};
use crate::domain::identity::HsaId;
use crate::domain::ids::IndividualId;
use crate::domain::Principal;
use crate::error::Result;

/// A `None` is inserted as NULL, not as `DEFAULT` (the nullable columns have no default, so the
/// two are the same row): the statement's SQL then never varies, which lets a write's access row
/// and change event be one statement kept prepared (`db::journal`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct NewAuditEvent {
    pub occurred_at: NaiveDateTime,
    pub subject: String,
    pub unit: String,
    pub principal: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
    /// `allowed` or `denied`.
    pub result: String,
    pub status: i32,
    pub request_id: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub subject: String,
    pub unit: HsaId,
    pub principal: Principal,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
    pub result: String,
    pub status: i32,
    pub request_id: String,
}

/// Something an access showed besides what its request names.
#[derive(Debug, Clone)]
pub struct NewAuditTarget {
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
}

impl NewAuditTarget {
    /// The resource's id as the row stores it: NULL when it is the target's own plan (a target of
    /// type `plans`) or its own individual (`individuals`), whose id the row holds already. A
    /// list's 50 targets are each a UUID (38 bytes) narrower in the table and in the WAL, and the
    /// log is the table that grows with every read. [`AuditTargetRow::resource_named`] gives the
    /// id back. Every target names its resource (`audit::Target`s are made with one), so a NULL
    /// read back under these two types is always the elided id.
    fn stored_resource_id(&self) -> Option<&str> {
        match own_id(&self.resource_type, &self.plan_id, &self.individual_id) {
            Some(own) if *own == self.resource_id => None,
            _ => self.resource_id.as_deref(),
        }
    }
}

/// The column of a target that holds its resource's own id, by the resource's type: a plan's is its
/// `plan_id`, an individual's its `individual_id`; other resources have none.
fn own_id<'a>(
    resource_type: &str,
    plan_id: &'a Option<String>,
    individual_id: &'a Option<String>,
) -> Option<&'a Option<String>> {
    match resource_type {
        "plans" => Some(plan_id),
        "individuals" => Some(individual_id),
        _ => None,
    }
}

/// One access to store: its row, and its targets.
#[derive(Debug, Clone)]
pub struct NewAccess {
    pub event: NewAuditEvent,
    pub targets: Vec<NewAuditTarget>,
}

impl From<NewAuditEvent> for NewAccess {
    fn from(event: NewAuditEvent) -> Self {
        NewAccess {
            event,
            targets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_event_targets)]
pub struct AuditTargetRow {
    pub event_id: i64,
    /// The target's place among its event's, from 0.
    pub position: i32,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
}

impl AuditTargetRow {
    /// The row with its resource's id as it was recorded: a target's own plan or individual is
    /// stored as NULL ([`NewAuditTarget::stored_resource_id`]). The seal hashes the row as stored.
    pub fn resource_named(mut self) -> Self {
        if self.resource_id.is_none() {
            self.resource_id = own_id(&self.resource_type, &self.plan_id, &self.individual_id)
                .cloned()
                .flatten();
        }
        self
    }
}

/// A stored access with its targets (those the query asked about).
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub event: AuditEventRow,
    pub targets: Vec<AuditTargetRow>,
}

pub fn insert(conn: &mut DbConn, event: &NewAuditEvent) -> Result<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute_native(conn)?;
    Ok(())
}

/// Stores many accesses, with their targets, in as few statements as the backend allows.
/// PostgreSQL takes any number as one statement: the events and the targets each as `unnest` of
/// one array a column, the targets joined to their event's new id by the event's ordinal — one
/// short statement however many rows a group commit holds, kept prepared ([`EventsAlone`],
/// [`EventsWithTargets`]), instead of a multi-row `VALUES` of a bind a value that it would parse
/// anew each time. It is one statement, so the access-log writer
/// runs it without a transaction (`Db::append_now`). SQLite, in process and in one transaction,
/// takes the events without targets as multi-row `VALUES` in chunks under its bind limit, and each
/// event with targets on its own to learn its id, its targets after it as one statement kept
/// prepared ([`TargetsOfEvent`]).
pub fn insert_all(conn: &mut DbConn, accesses: &[NewAccess]) -> Result<()> {
    match conn {
        DbConn::Postgres(c) => insert_all_postgres(c, accesses),
        DbConn::Sqlite(c) => {
            // SQLite binds at most 32,766 values in one statement; 12 columns an event.
            const ROWS_PER_STATEMENT: usize = 2_000;
            let (targeted, plain): (Vec<&NewAccess>, Vec<&NewAccess>) =
                accesses.iter().partition(|a| !a.targets.is_empty());
            let plain: Vec<&NewAuditEvent> = plain.into_iter().map(|a| &a.event).collect();
            for chunk in plain.chunks(ROWS_PER_STATEMENT) {
                diesel::insert_into(audit_events::table)
                    .values(chunk.iter().copied().cloned().collect::<Vec<_>>())
                    .execute(c)?;
            }
            for access in targeted {
                let event_id: i64 = diesel::insert_into(audit_events::table)
                    .values(&access.event)
                    .returning(audit_events::id)
                    .get_result(c)?;
                TargetsOfEvent::new(event_id, &access.targets)?.execute(c)?;
            }
            Ok(())
        }
    }
}

/// SQLite: an event's targets in one statement whose SQL never varies, kept prepared under this
/// type's name — `INSERT … SELECT … FROM json_each(?)` of the targets as one JSON array, each
/// target's place in it its `position`. A multi-row `VALUES` (a list's 50 targets are 300 binds)
/// had its SQL written and looked up for every access, a tenth of a SQLite list's CPU.
struct TargetsOfEvent {
    event_id: i64,
    /// `[[resource_type, resource_id, plan_id, individual_id], …]`, `null` for a `None`.
    targets: String,
}

impl TargetsOfEvent {
    fn new(event_id: i64, targets: &[NewAuditTarget]) -> Result<Self> {
        let rows: Vec<_> = targets
            .iter()
            .map(|t| {
                (
                    &t.resource_type,
                    t.stored_resource_id(),
                    &t.plan_id,
                    &t.individual_id,
                )
            })
            .collect();
        let targets = serde_json::to_string(&rows).map_err(|e| {
            crate::error::Error::Internal(format!("access-log targets as JSON: {e}"))
        })?;
        Ok(TargetsOfEvent { event_id, targets })
    }
}

impl QueryFragment<diesel::sqlite::Sqlite> for TargetsOfEvent {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO audit_event_targets \
             (event_id, position, resource_type, resource_id, plan_id, individual_id) SELECT ",
        );
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.event_id)?;
        out.push_sql(
            ", key, json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(",
        );
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.targets)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryId for TargetsOfEvent {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::SqliteConnection> for TargetsOfEvent {}

fn insert_all_postgres(conn: &mut diesel::PgConnection, accesses: &[NewAccess]) -> Result<()> {
    if accesses.is_empty() {
        return Ok(());
    }
    let events = EventArrays::of(accesses);
    // (the event's ordinal in `accesses`, from 1 as `WITH ORDINALITY` counts; position; target)
    let targets: Vec<(i64, i32, &NewAuditTarget)> = accesses
        .iter()
        .zip(1i64..)
        .flat_map(|(access, ordinal)| {
            access
                .targets
                .iter()
                .zip(0i32..)
                .map(move |(target, position)| (ordinal, position, target))
        })
        .collect();
    if targets.is_empty() {
        // Most groups (reads of one plan) have no targets: the events alone, without the join.
        EventsAlone(events).execute(conn)?;
    } else {
        EventsWithTargets(events, TargetArrays::of(&targets)).execute(conn)?;
    }
    Ok(())
}

/// A group's events, one array a column, in the order of [`EVENT_COLUMNS`].
struct EventArrays<'a> {
    occurred_at: Vec<NaiveDateTime>,
    subject: Vec<&'a str>,
    unit: Vec<&'a str>,
    principal: Vec<&'a str>,
    action: Vec<&'a str>,
    resource_type: Vec<&'a str>,
    resource_id: Vec<Option<&'a str>>,
    plan_id: Vec<Option<&'a str>>,
    individual_id: Vec<Option<&'a str>>,
    result: Vec<&'a str>,
    status: Vec<i32>,
    request_id: Vec<&'a str>,
}

const EVENT_COLUMNS: &str = "occurred_at, subject, unit, principal, action, resource_type, \
     resource_id, plan_id, individual_id, result, status, request_id";

impl<'a> EventArrays<'a> {
    fn of(accesses: &'a [NewAccess]) -> Self {
        fn column<'a, T>(
            accesses: &'a [NewAccess],
            value: impl Fn(&'a NewAuditEvent) -> T,
        ) -> Vec<T> {
            accesses.iter().map(|a| value(&a.event)).collect()
        }
        EventArrays {
            occurred_at: column(accesses, |e| e.occurred_at),
            subject: column(accesses, |e| e.subject.as_str()),
            unit: column(accesses, |e| e.unit.as_str()),
            principal: column(accesses, |e| e.principal.as_str()),
            action: column(accesses, |e| e.action.as_str()),
            resource_type: column(accesses, |e| e.resource_type.as_str()),
            resource_id: column(accesses, |e| e.resource_id.as_deref()),
            plan_id: column(accesses, |e| e.plan_id.as_deref()),
            individual_id: column(accesses, |e| e.individual_id.as_deref()),
            result: column(accesses, |e| e.result.as_str()),
            status: column(accesses, |e| e.status),
            request_id: column(accesses, |e| e.request_id.as_str()),
        }
    }

    /// `unnest($1::timestamp[], …, $12::text[])`: the events as rows.
    fn walk_ast<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Integer, Text, Timestamp};
        out.push_sql("unnest(");
        out.push_bind_param::<Array<Timestamp>, _>(&self.occurred_at)?;
        for texts in [
            &self.subject,
            &self.unit,
            &self.principal,
            &self.action,
            &self.resource_type,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Array<Text>, _>(texts)?;
        }
        push_optional_names(out, [&self.resource_id, &self.plan_id, &self.individual_id])?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.result)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.request_id)?;
        out.push_sql(")");
        Ok(())
    }
}

/// A group's targets, one array a column: each with its event's ordinal in the group (from 1, as
/// `WITH ORDINALITY` counts) and its place among its event's targets.
struct TargetArrays<'a> {
    ordinal: Vec<i64>,
    position: Vec<i32>,
    resource_type: Vec<&'a str>,
    resource_id: Vec<Option<&'a str>>,
    plan_id: Vec<Option<&'a str>>,
    individual_id: Vec<Option<&'a str>>,
}

impl<'a> TargetArrays<'a> {
    fn of(targets: &[(i64, i32, &'a NewAuditTarget)]) -> Self {
        fn column<'a, T>(
            targets: &[(i64, i32, &'a NewAuditTarget)],
            value: impl Fn(&'a NewAuditTarget) -> T,
        ) -> Vec<T> {
            targets.iter().map(|(_, _, t)| value(t)).collect()
        }
        TargetArrays {
            ordinal: targets.iter().map(|(o, _, _)| *o).collect(),
            position: targets.iter().map(|(_, p, _)| *p).collect(),
            resource_type: column(targets, |t| t.resource_type.as_str()),
            resource_id: column(targets, |t| t.stored_resource_id()),
            plan_id: column(targets, |t| t.plan_id.as_deref()),
            individual_id: column(targets, |t| t.individual_id.as_deref()),
        }
    }

    /// `unnest($13::int8[], …, $18::text[])`: the targets as rows.
    fn walk_ast<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Integer, Text};
        out.push_sql("unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.ordinal)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.position)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.resource_type)?;
        push_optional_names(out, [&self.resource_id, &self.plan_id, &self.individual_id])?;
        out.push_sql(")");
        Ok(())
    }
}

/// `, $n, $n+1, $n+2`: the three names an event and a target may leave out (the resource's id, the
/// plan, the individual), each bound as one array of nullable text.
fn push_optional_names<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    names: [&'b Vec<Option<&str>>; 3],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, Nullable, Text};
    for optional in names {
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(optional)?;
    }
    Ok(())
}

/// PostgreSQL: a group of accesses without targets, `INSERT … SELECT * FROM unnest(…)`. Its SQL
/// is the same for any number of events, so the connection keeps it prepared (a type of its own is
/// its name in diesel's cache): sent as raw SQL it was parsed and planned for every group commit,
/// as long as the insert itself.
struct EventsAlone<'a>(EventArrays<'a>);

impl QueryFragment<Pg> for EventsAlone<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("INSERT INTO audit_events (");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(") SELECT * FROM ");
        self.0.walk_ast(&mut out)
    }
}

impl QueryId for EventsAlone<'_> {
    type QueryId = EventsAlone<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for EventsAlone<'_> {}

/// PostgreSQL: a group of accesses with their targets in one statement, kept prepared like
/// [`EventsAlone`]: each event draws its id in a CTE named twice (so computed once), and its
/// targets join it by the event's ordinal.
struct EventsWithTargets<'a>(EventArrays<'a>, TargetArrays<'a>);

impl QueryFragment<Pg> for EventsWithTargets<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH event AS (SELECT nextval('audit_events_id_seq') AS id, e.* FROM ");
        self.0.walk_ast(&mut out)?;
        out.push_sql(" WITH ORDINALITY AS e(");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(", ordinal)), stored AS (INSERT INTO audit_events (id, ");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(") SELECT id, ");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(
            " FROM event) \
             INSERT INTO audit_event_targets \
                 (event_id, position, resource_type, resource_id, plan_id, individual_id) \
             SELECT event.id, t.position, t.resource_type, t.resource_id, t.plan_id, \
                    t.individual_id FROM ",
        );
        self.1.walk_ast(&mut out)?;
        out.push_sql(
            " AS t(ordinal, position, resource_type, resource_id, plan_id, individual_id) \
             JOIN event ON event.ordinal = t.ordinal",
        );
        Ok(())
    }
}

impl QueryId for EventsWithTargets<'_> {
    type QueryId = EventsWithTargets<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for EventsWithTargets<'_> {}

/// A unit searched for, or registered, the identity number of a person hidden from it (protected
/// identity). Recorded under her, so that "who has tried to find me" can be answered — and shown
/// to the auditors of the organisation that registered her, not to the searching organisation's,
/// whose staff must not learn through the log which person the number belongs to.
pub const SEARCH_DENIED: &str = "search_denied";
pub const REGISTER_DENIED: &str = "register_denied";
const HIDDEN_MATCHES: [&str; 2] = [SEARCH_DENIED, REGISTER_DENIED];

/// Filters of the audit query, combined with AND; all but the organisation optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only accesses made by units of this organisation (`SE` + organisation number): an
    /// organisation follows up its own staff's accesses, and sees no other organisation's. `None`
    /// only for the individual's own extract (loggutdrag), which covers every organisation and
    /// always names the individual.
    pub organisation: Option<String>,
    /// Everything read or written about this individual: their own record and their plans.
    pub individual_id: Option<IndividualId>,
    pub subject: Option<String>,
    pub unit: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// A page of the log: the events after `after` that the filter selects, oldest first, each with
/// its targets — only those about the filter's individual when it names one.
///
/// Each question is asked through its own indexes and the answers merged here, never as one query
/// with an `OR` across them: that query runs in id order, testing each row, and when fewer than a
/// page match after the cursor it reads the log to its end. The organisation's records and the
/// hidden matches it is shown are two questions (`pages`); "everything about this individual" is
/// two more for each: the events whose row names her or one of her plans, and the events with a
/// target that does.
///
/// Planned for the values they are given (`with_plans_for_the_values`): which index answers best
/// depends on how many records the organisation, the individual or the subject has.
pub fn list(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    // Only the events are planned for the values: their targets are looked up by event id, which
    // the primary key answers whatever the ids; planned anew with statistics taken while the
    // targets table was small, that lookup became a sequential scan (148 ms a page in `make bench`).
    let (events, about_whom) = super::native::with_plans_for_the_values(conn, |conn| {
        events_of(conn, filter, after, limit)
    })?;
    targets_of(conn, events, about_whom.as_ref())
}

/// Who the filter is about: the individual and her plans.
type AboutWhom = Option<(IndividualId, Vec<String>)>;

fn events_of(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<(Vec<AuditEventRow>, AboutWhom)> {
    let about_whom = match &filter.individual_id {
        None => None,
        Some(individual) => {
            let their_plans: Vec<String> = plans::table
                .filter(plans::individual_id.eq(individual))
                .select(plans::id)
                .load_native(conn)?;
            Some((individual.clone(), their_plans))
        }
    };
    let questions: Vec<AuditPage> = match &about_whom {
        None => pages(filter, after, limit),
        Some((individual, their_plans)) => {
            let named = pages(filter, after, limit).into_iter().map(|page| {
                page.filter(
                    audit_events::individual_id
                        .eq(individual.clone())
                        .or(audit_events::plan_id.eq_any(their_plans.clone())),
                )
            });
            let targeted = pages(filter, after, limit).into_iter().map(|page| {
                page.filter(
                    audit_events::id.eq_any(
                        audit_event_targets::table
                            .filter(audit_event_targets::event_id.gt(after))
                            .filter(about(individual.to_string(), their_plans.clone()))
                            .select(audit_event_targets::event_id),
                    ),
                )
            });
            named.chain(targeted).collect()
        }
    };
    let mut by_id: BTreeMap<i64, AuditEventRow> = BTreeMap::new();
    for question in questions {
        for event in question
            .select(super::native::columns::<AuditEventRow>())
            .load::<AuditEventRow>(conn)?
        {
            by_id.insert(event.id, event);
        }
    }
    let events: Vec<AuditEventRow> = by_id
        .into_values()
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok((events, about_whom))
}

/// The events with their targets — only those about the filter's individual when it names one.
fn targets_of(
    conn: &mut DbConn,
    events: Vec<AuditEventRow>,
    about_whom: Option<&(IndividualId, Vec<String>)>,
) -> Result<Vec<AuditRecord>> {
    let targets = match about_whom {
        None => audit_event_targets::table.into_boxed(),
        Some((individual, their_plans)) => audit_event_targets::table
            .filter(about(individual.to_string(), their_plans.clone()))
            .into_boxed(),
    }
    .filter(audit_event_targets::event_id.eq_any(events.iter().map(|e| e.id).collect::<Vec<_>>()));
    let mut targets_of: BTreeMap<i64, Vec<AuditTargetRow>> = BTreeMap::new();
    for target in targets
        .order((audit_event_targets::event_id, audit_event_targets::position))
        .select(super::native::columns::<AuditTargetRow>())
        .load::<AuditTargetRow>(conn)?
    {
        targets_of
            .entry(target.event_id)
            .or_default()
            .push(target.resource_named());
    }
    Ok(events
        .into_iter()
        .map(|event| AuditRecord {
            targets: targets_of.remove(&event.id).unwrap_or_default(),
            event,
        })
        .collect())
}

/// The targets about an individual: naming her, or — a target that names no individual (a
/// deviation of a list) — one of her plans. Each side is one of the targets' partial indexes.
#[diesel::dsl::auto_type]
fn about(individual: String, their_plans: Vec<String>) -> _ {
    audit_event_targets::individual_id
        .eq(individual)
        .or(audit_event_targets::individual_id
            .is_null()
            .and(audit_event_targets::plan_id.eq_any(their_plans)))
}

type AuditPage = audit_events::BoxedQuery<'static, MultiBackend>;

/// A unit's organisation, written exactly as the expression of `audit_events_organisation_idx`
/// (migration `audit_by_organisation`): the first twelve characters of its HSA-id, `SE` and the
/// organisation number (`HsaId::organisation`). Literal, not bound, or no planner would match the
/// index to it.
const ORGANISATION_OF_UNIT: &str = r#"substr("audit_events"."unit", 1, 12)"#;
/// `HIDDEN_MATCHES` written exactly as the predicate of `audit_events_hidden_matches_idx`, for the
/// same reason.
const IS_HIDDEN_MATCH: &str = r#""audit_events"."action" IN ('search_denied', 'register_denied')"#;

/// The events after `after` that the filter's other fields select, oldest first: for an
/// organisation's follow-up, one page of the accesses its own units made and one of the hidden
/// matches of the individuals it registered (`pages` is both, to be merged); for the individual's
/// own extract, one.
fn pages(filter: &AuditFilter, after: i64, limit: i64) -> Vec<AuditPage> {
    let page = || {
        let mut query = audit_events::table
            .filter(audit_events::id.gt(after))
            .into_boxed();
        if let Some(subject) = &filter.subject {
            query = query.filter(audit_events::subject.eq(subject.clone()));
        }
        if let Some(unit) = &filter.unit {
            query = query.filter(audit_events::unit.eq(unit.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_events::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_events::occurred_at.lt(to));
        }
        query.order(audit_events::id).limit(limit)
    };
    let Some(organisation) = &filter.organisation else {
        return vec![page()];
    };
    // An organisation is `SE` and ten digits (`HsaId::organisation`), and every unit's HSA-id
    // begins with its own: the prefix alone is the rule. (A `LIKE 'SE…-%'` beside it, saying the
    // same, made PostgreSQL multiply the two as if independent and expect one row of the
    // region's tens of thousands: it then sorted them all, 26 ms a page instead of 0.1.)
    if organisation.len() != 12 {
        return Vec::new();
    }
    let own_accesses = page()
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Text>(ORGANISATION_OF_UNIT)
                .eq(organisation.clone()),
        )
        .filter(audit_events::action.ne_all(HIDDEN_MATCHES));
    let registered_here = individuals::table
        .filter(individuals::registered_by_unit.like(format!("{organisation}-%")))
        .select(individuals::id.nullable());
    let hidden_matches = page()
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(IS_HIDDEN_MATCH))
        .filter(audit_events::individual_id.eq_any(registered_here));
    vec![own_accesses, hidden_matches]
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel_migrations::MigrationHarness;

    fn target(resource_id: Option<&str>, individual_id: Option<&str>) -> NewAuditTarget {
        NewAuditTarget {
            resource_type: "plans".into(),
            resource_id: resource_id.map(String::from),
            plan_id: resource_id.map(String::from),
            individual_id: individual_id.map(String::from),
        }
    }

    /// The literal predicate the hidden matches' index is chosen by names every hidden match and
    /// nothing else: a new kind added to `HIDDEN_MATCHES` alone would be left out of the page.
    #[test]
    fn the_hidden_matches_predicate_names_each_hidden_match() {
        let named: Vec<&str> = IS_HIDDEN_MATCH.split('\'').skip(1).step_by(2).collect();
        assert_eq!(named, HIDDEN_MATCHES);
    }

    fn event(request_id: &str, plan_id: Option<&str>) -> NewAuditEvent {
        NewAuditEvent {
            occurred_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            subject: "tester".into(),
            unit: "SE2321000016-PSY1".into(),
            principal: "region".into(),
            action: "read".into(),
            resource_type: "plans".into(),
            resource_id: plan_id.map(String::from),
            plan_id: plan_id.map(String::from),
            individual_id: None,
            result: "allowed".into(),
            status: 200,
            request_id: request_id.into(),
        }
    }

    /// PostgreSQL keeps a group commit's statement prepared (one name a shape in diesel's cache),
    /// so its text must be the same however many events and targets a group holds and whichever
    /// values are missing; and the two shapes must have names of their own.
    #[test]
    fn a_group_commit_is_one_of_two_statements_kept_prepared() {
        use crate::db::prepared::kept_sql as kept;
        use std::any::TypeId;
        let one = [NewAccess::from(event("r1", Some("p1")))];
        let three = [
            NewAccess::from(event("r1", None)),
            NewAccess {
                event: event("r2", Some("p2")),
                targets: vec![target(Some("p1"), Some("i1")), target(None, None)],
            },
            NewAccess {
                event: event("r3", None),
                targets: vec![target(Some("p3"), None)],
            },
        ];
        let alone = kept(&EventsAlone(EventArrays::of(&one)));
        assert_eq!(alone, kept(&EventsAlone(EventArrays::of(&three))));
        assert!(alone.starts_with("INSERT INTO audit_events ("), "{alone}");

        let with_targets = |accesses: &[NewAccess]| {
            let targets: Vec<(i64, i32, &NewAuditTarget)> = accesses
                .iter()
                .flat_map(|a| a.targets.iter().map(|t| (1, 0, t)))
                .collect();
            kept(&EventsWithTargets(
                EventArrays::of(accesses),
                TargetArrays::of(&targets),
            ))
        };
        let targeted = with_targets(&three);
        assert_eq!(targeted, with_targets(&three[1..2]));
        assert!(
            targeted.contains("$18"),
            "every column is one bound array: {targeted}"
        );
        assert_ne!(
            TypeId::of::<<EventsAlone as QueryId>::QueryId>(),
            TypeId::of::<<EventsWithTargets as QueryId>::QueryId>()
        );
    }

    /// On SQLite an event's targets travel as one JSON array: each lands under its own event in
    /// its place, a `None` as NULL and a value with quotes and non-ASCII letters unchanged.
    #[test]
    fn sqlite_stores_each_target_in_its_place() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        conn.run_pending_migrations(super::super::SQLITE_MIGRATIONS)
            .unwrap();
        let mut conn = DbConn::Sqlite(conn);
        let event = event("r1", None);
        let targets = vec![
            target(Some("p1"), Some("i1")),
            target(None, None),
            target(Some("\"quoted\" \\ Åsa"), Some("i3")),
        ];
        let accesses = [
            NewAccess::from(event.clone()),
            NewAccess {
                event: event.clone(),
                targets: targets.clone(),
            },
            NewAccess {
                event,
                targets: vec![target(Some("p9"), None)],
            },
        ];
        insert_all(&mut conn, &accesses).unwrap();
        let stored: Vec<AuditTargetRow> = audit_event_targets::table
            .order((audit_event_targets::event_id, audit_event_targets::position))
            .select(super::super::native::columns::<AuditTargetRow>())
            .load_native(&mut conn)
            .unwrap();
        let seen: Vec<_> = stored
            .iter()
            .map(|t| {
                (
                    t.event_id,
                    t.position,
                    t.resource_type.as_str(),
                    t.resource_id.as_deref(),
                    t.plan_id.as_deref(),
                    t.individual_id.as_deref(),
                )
            })
            .collect();
        // A plan's own id is stored once, as its plan (`stored_resource_id`).
        assert_eq!(
            seen,
            vec![
                (2, 0, "plans", None, Some("p1"), Some("i1")),
                (2, 1, "plans", None, None, None),
                (2, 2, "plans", None, Some("\"quoted\" \\ Åsa"), Some("i3")),
                (3, 0, "plans", None, Some("p9"), None),
            ]
        );
        let named: Vec<Option<String>> = stored
            .into_iter()
            .map(|t| t.resource_named().resource_id)
            .collect();
        let recorded: Vec<Option<String>> = targets
            .iter()
            .chain([&target(Some("p9"), None)])
            .map(|t| t.resource_id.clone())
            .collect();
        assert_eq!(named, recorded);
    }

    /// Every shape of target the handlers record reads back with the resource id it was recorded
    /// with, though a plan's or an individual's own id is stored as NULL.
    #[test]
    fn a_target_reads_back_the_resource_it_named() {
        let some = |s: &str| Some(s.to_string());
        let shapes = [
            // a plan of a list; a plan an individual read on `/me`
            ("plans", some("p1"), some("p1"), some("i1")),
            // a person reached by a search (with her plan) or on `/me` (without one)
            ("individuals", some("i1"), some("p1"), some("i1")),
            ("individuals", some("i1"), None, some("i1")),
            // a deviation of a list: its own id is neither
            ("deviations", some("d1"), some("p1"), None),
            ("deviations", some("d1"), None, None),
            // an id that is not the target's own stays as recorded
            ("plans", some("p2"), some("p1"), some("i1")),
            ("individuals", some("i2"), some("p1"), some("i1")),
            ("plans", None, None, None),
        ];
        for (resource_type, resource_id, plan_id, individual_id) in shapes {
            let recorded = NewAuditTarget {
                resource_type: resource_type.into(),
                resource_id: resource_id.clone(),
                plan_id: plan_id.clone(),
                individual_id: individual_id.clone(),
            };
            let stored = AuditTargetRow {
                event_id: 1,
                position: 0,
                resource_type: resource_type.into(),
                resource_id: recorded.stored_resource_id().map(String::from),
                plan_id,
                individual_id,
            };
            assert_eq!(
                stored.resource_named().resource_id,
                resource_id,
                "{resource_type}"
            );
        }
    }
}
