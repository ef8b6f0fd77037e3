//! The access log (`audit_events`): appended to, never changed. One row is one request's access
//! (or one change). What the answer showed besides what its path names — each plan of a list, the
//! individual of a whole plan, a search's match — are its targets, held in the same row as one
//! JSON array (`targets`). "Who has read this person's data" finds them by what they are about:
//! the individual each names or, for a target that names none, its plan ([`about_key`]). On
//! PostgreSQL that is the row's `targets_about` array under a GIN index; SQLite has no arrays, so
//! there it is one narrow row a person in `audit_targets_about`, a table that is its own index.

use std::collections::{BTreeMap, BTreeSet};

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

use super::schema::{audit_events, individuals, plans};
use super::{DbConn, MultiBackend};
use crate::domain::identity::HsaId;
use crate::domain::ids::IndividualId;
use crate::domain::Principal;
use crate::error::{Error, Result};

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
    /// list's 50 targets are each a UUID narrower, and the log is the table that grows with every
    /// read. [`AuditTargetRow::resource_named`] gives the id back. Every target names its
    /// resource (`audit::Target`s are made with one), so a NULL read back under these two types is
    /// always the elided id.
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

/// What a target is found by when someone asks who has read a person's data: the individual it
/// names, or — a target that names no individual (a deviation of a list) — its plan, which the
/// question then names among the person's plans. Ids of individuals and of plans are UUIDs drawn
/// apart, so one key space serves both.
fn about_key<'a>(
    individual_id: &'a Option<String>,
    plan_id: &'a Option<String>,
) -> Option<&'a str> {
    individual_id.as_deref().or(plan_id.as_deref())
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

/// An access's targets as its row holds them: `targets`, and the keys they are found by.
struct StoredTargets<'a> {
    /// `[[resource_type, resource_id, plan_id, individual_id], …]` in their order, `null` for a
    /// `None`, the resource id as [`NewAuditTarget::stored_resource_id`] has it.
    json: String,
    /// The targets' [`about_key`]s, each once (sorted).
    about: BTreeSet<&'a str>,
}

impl<'a> StoredTargets<'a> {
    /// `None` for an access without targets: its row holds NULL in both columns.
    fn of(targets: &'a [NewAuditTarget]) -> Result<Option<Self>> {
        if targets.is_empty() {
            return Ok(None);
        }
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
        let json = serde_json::to_string(&rows)
            .map_err(|e| Error::Internal(format!("access-log targets as JSON: {e}")))?;
        let about = targets
            .iter()
            .filter_map(|t| about_key(&t.individual_id, &t.plan_id))
            .collect();
        Ok(Some(StoredTargets { json, about }))
    }

    /// The keys as a PostgreSQL array literal, `{"k1","k2"}`, which the statement casts to
    /// `text[]`: the group's events go in as one array a column, and an array of arrays would be
    /// unnested into its elements.
    fn about_as_array_literal(&self) -> String {
        array_literal(self.about.iter().copied())
    }
}

/// `{"a","b"}`: the strings as a PostgreSQL array literal, each quoted, a `"` or `\` in one
/// escaped.
fn array_literal<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut literal = String::from("{");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        literal.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    literal
}

/// A target as it was recorded, read back from its access's row.
#[derive(Debug, Clone)]
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

/// An access as its row is read: the event, and its targets as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct StoredAccess {
    #[diesel(embed)]
    pub event: AuditEventRow,
    pub targets: Option<String>,
}

impl StoredAccess {
    /// The access with its targets as stored (a resource's own id left NULL, as sealed:
    /// [`AuditTargetRow::resource_named`] names it), each at its place; when `about` is given,
    /// only the targets whose [`about_key`] is one of it.
    pub fn stored_record(self, about: Option<&BTreeSet<String>>) -> Result<AuditRecord> {
        type Stored = (String, Option<String>, Option<String>, Option<String>);
        let event_id = self.event.id;
        let stored: Vec<Stored> = match &self.targets {
            None => Vec::new(),
            Some(json) => serde_json::from_str(json).map_err(|e| {
                Error::Internal(format!("the targets of access record {event_id}: {e}"))
            })?,
        };
        let targets = stored
            .into_iter()
            .zip(0i32..)
            .map(
                |((resource_type, resource_id, plan_id, individual_id), position)| AuditTargetRow {
                    event_id,
                    position,
                    resource_type,
                    resource_id,
                    plan_id,
                    individual_id,
                },
            )
            .filter(|t| {
                about.is_none_or(|keys| {
                    about_key(&t.individual_id, &t.plan_id).is_some_and(|k| keys.contains(k))
                })
            })
            .collect();
        Ok(AuditRecord {
            event: self.event,
            targets,
        })
    }
}

pub fn insert(conn: &mut DbConn, event: &NewAuditEvent) -> Result<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute_native(conn)?;
    Ok(())
}

/// Stores many accesses, with their targets, in as few statements as the backend allows.
/// PostgreSQL takes any number as one statement, `unnest` of one array a column ([`Events`]),
/// kept prepared, instead of a multi-row `VALUES` of a bind a value that it would parse anew each
/// time. It is one statement, so the access-log writer runs it without a transaction
/// (`Db::append_now`). SQLite, in process and in one transaction, takes the events without
/// targets as multi-row `VALUES` in chunks under its bind limit, and each event with targets on
/// its own to learn its id, what its targets are about after it as one statement kept prepared
/// ([`AboutOfEvent`]).
pub fn insert_all(conn: &mut DbConn, accesses: &[NewAccess]) -> Result<()> {
    match conn {
        DbConn::Postgres(c) => {
            if !accesses.is_empty() {
                Events::of(accesses)?.execute(c)?;
            }
            Ok(())
        }
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
                let Some(stored) = StoredTargets::of(&access.targets)? else {
                    continue;
                };
                let event_id: i64 = diesel::insert_into(audit_events::table)
                    .values((&access.event, audit_events::targets.eq(&stored.json)))
                    .returning(audit_events::id)
                    .get_result(c)?;
                AboutOfEvent::new(event_id, &stored)?.execute(c)?;
            }
            Ok(())
        }
    }
}

/// SQLite: what an event's targets are about, one row a key, in one statement whose SQL never
/// varies, kept prepared under this type's name — `INSERT … SELECT … FROM json_each(?)` of the
/// keys as one JSON array. A multi-row `VALUES` had its SQL written and looked up for every
/// access, a tenth of a SQLite list's CPU.
struct AboutOfEvent {
    event_id: i64,
    /// `["key", …]`.
    about: String,
}

impl AboutOfEvent {
    fn new(event_id: i64, stored: &StoredTargets) -> Result<Self> {
        let about = serde_json::to_string(&stored.about)
            .map_err(|e| Error::Internal(format!("access-log targets as JSON: {e}")))?;
        Ok(AboutOfEvent { event_id, about })
    }
}

impl QueryFragment<diesel::sqlite::Sqlite> for AboutOfEvent {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        out.push_sql("INSERT INTO audit_targets_about (about, event_id) SELECT value, ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.event_id)?;
        out.push_sql(" FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.about)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryId for AboutOfEvent {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::SqliteConnection> for AboutOfEvent {}

/// PostgreSQL: a group commit's accesses, one array a column, `INSERT … SELECT … FROM unnest(…)`.
/// Its SQL is the same for any number of events and targets, so the connection keeps it prepared
/// (a type of its own is its name in diesel's cache): sent as raw SQL it was parsed and planned
/// for every group commit, as long as the insert itself.
struct Events<'a> {
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
    targets: Vec<Option<String>>,
    /// Each event's keys as an array literal ([`StoredTargets::about_as_array_literal`]).
    targets_about: Vec<Option<String>>,
}

const EVENT_COLUMNS: &str = "occurred_at, subject, unit, principal, action, resource_type, \
     resource_id, plan_id, individual_id, result, status, request_id, targets";

impl<'a> Events<'a> {
    fn of(accesses: &'a [NewAccess]) -> Result<Self> {
        fn column<'a, T>(
            accesses: &'a [NewAccess],
            value: impl Fn(&'a NewAuditEvent) -> T,
        ) -> Vec<T> {
            accesses.iter().map(|a| value(&a.event)).collect()
        }
        let mut targets = Vec::with_capacity(accesses.len());
        let mut targets_about = Vec::with_capacity(accesses.len());
        for access in accesses {
            let stored = StoredTargets::of(&access.targets)?;
            targets_about.push(stored.as_ref().map(StoredTargets::about_as_array_literal));
            targets.push(stored.map(|s| s.json));
        }
        Ok(Events {
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
            targets,
            targets_about,
        })
    }
}

impl QueryFragment<Pg> for Events<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
        out.push_sql("INSERT INTO audit_events (");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(", targets_about) SELECT ");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(", targets_about::text[] FROM unnest(");
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
        for optional in [&self.resource_id, &self.plan_id, &self.individual_id] {
            out.push_sql(", ");
            out.push_bind_param::<Array<Nullable<Text>>, _>(optional)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.result)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.request_id)?;
        for optional in [&self.targets, &self.targets_about] {
            out.push_sql(", ");
            out.push_bind_param::<Array<Nullable<Text>>, _>(optional)?;
        }
        out.push_sql(") AS e(");
        out.push_sql(EVENT_COLUMNS);
        out.push_sql(", targets_about)");
        Ok(())
    }
}

impl QueryId for Events<'_> {
    type QueryId = Events<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for Events<'_> {}

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
    super::native::with_plans_for_the_values(conn, |conn| events_of(conn, filter, after, limit))
}

fn events_of(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    let postgres = matches!(conn, DbConn::Postgres(_));
    // Who the filter is about: the individual and her plans, and the keys her targets are found
    // by (`about_key`), which are the same ids.
    let about_whom: Option<(IndividualId, Vec<String>, BTreeSet<String>)> =
        match &filter.individual_id {
            None => None,
            Some(individual) => {
                let their_plans: Vec<String> = plans::table
                    .filter(plans::individual_id.eq(individual))
                    .select(plans::id)
                    .load_native(conn)?;
                let keys = std::iter::once(individual.to_string())
                    .chain(their_plans.iter().cloned())
                    .collect();
                Some((individual.clone(), their_plans, keys))
            }
        };
    let questions: Vec<AuditPage> = match &about_whom {
        None => pages(filter, after, limit),
        Some((individual, their_plans, keys)) => {
            let named = pages(filter, after, limit).into_iter().map(|page| {
                Ok(page.filter(
                    audit_events::individual_id
                        .eq(individual.clone())
                        .or(audit_events::plan_id.eq_any(their_plans.clone())),
                ))
            });
            let targeted = pages(filter, after, limit)
                .into_iter()
                .map(|page| with_a_target_about(page, postgres, keys, after));
            named.chain(targeted).collect::<Result<_>>()?
        }
    };
    let mut by_id: BTreeMap<i64, StoredAccess> = BTreeMap::new();
    for question in questions {
        for access in question
            .select(super::native::columns::<StoredAccess>())
            .load::<StoredAccess>(conn)?
        {
            by_id.insert(access.event.id, access);
        }
    }
    let about = about_whom.as_ref().map(|(_, _, keys)| keys);
    by_id
        .into_values()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|access| {
            let mut record = access.stored_record(about)?;
            record.targets = record
                .targets
                .into_iter()
                .map(AuditTargetRow::resource_named)
                .collect();
            Ok(record)
        })
        .collect()
}

/// The page's events with a target about one of `keys`, asked where each backend keeps them.
fn with_a_target_about(
    page: AuditPage,
    postgres: bool,
    keys: &BTreeSet<String>,
    after: i64,
) -> Result<AuditPage> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Text};
    if postgres {
        let keys = array_literal(keys.iter().map(String::as_str));
        // Ordered by an expression no index gives, so that the rows are found through the keys'
        // GIN index and the few sorted: in id order PostgreSQL may walk the log from the cursor
        // testing each row, which for a person with few accesses in a long log reads it to its end.
        return Ok(page
            .filter(
                sql::<Bool>(r#""audit_events"."targets_about" && "#)
                    .bind::<Text, _>(keys)
                    .sql("::text[]"),
            )
            .order(sql::<BigInt>(r#""audit_events"."id" + 0"#)));
    }
    let keys = serde_json::to_string(keys)
        .map_err(|e| Error::Internal(format!("an audit question's keys as JSON: {e}")))?;
    Ok(page.filter(
        sql::<Bool>(
            r#""audit_events"."id" IN (SELECT event_id FROM audit_targets_about WHERE about IN (SELECT value FROM json_each("#,
        )
        .bind::<Text, _>(keys)
        .sql(")) AND event_id > ")
        .bind::<BigInt, _>(after)
        .sql(")"),
    ))
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

    /// PostgreSQL keeps a group commit's statement prepared (one name in diesel's cache), so its
    /// text must be the same however many events and targets a group holds and whichever values
    /// are missing.
    #[test]
    fn a_group_commit_is_one_statement_kept_prepared() {
        use crate::db::prepared::kept_sql as kept;
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
        let statement = kept(&Events::of(&one).unwrap());
        assert_eq!(statement, kept(&Events::of(&three).unwrap()));
        assert!(
            statement.starts_with("INSERT INTO audit_events ("),
            "{statement}"
        );
        assert!(
            statement.contains("$14") && !statement.contains("$15"),
            "every column is one bound array: {statement}"
        );
    }

    /// What the targets are about goes to PostgreSQL as an array literal: every key quoted, a
    /// quote or a backslash in one escaped, so no key can end the literal or add another.
    #[test]
    fn the_keys_are_one_array_literal_whatever_they_hold() {
        assert_eq!(array_literal([]), "{}");
        assert_eq!(array_literal(["a", "b"]), r#"{"a","b"}"#);
        assert_eq!(
            array_literal([r#"x","y"#, r"back\slash", "{å,}"]),
            r#"{"x\",\"y","back\\slash","{å,}"}"#
        );
    }

    /// On SQLite an access's targets travel in its row as one JSON array: each reads back under
    /// its own event in its place, a `None` as `None` and a value with quotes and non-ASCII
    /// letters unchanged; what they are about is one row a person (or plan) in
    /// `audit_targets_about`.
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
            target(Some("\"quoted\" \\ Åsa"), Some("i1")),
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
        let stored: Vec<AuditRecord> = audit_events::table
            .order(audit_events::id)
            .select(super::super::native::columns::<StoredAccess>())
            .load_native(&mut conn)
            .unwrap()
            .into_iter()
            .map(|a: StoredAccess| a.stored_record(None).unwrap())
            .collect();
        let seen: Vec<_> = stored
            .iter()
            .flat_map(|r| &r.targets)
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
                (2, 2, "plans", None, Some("\"quoted\" \\ Åsa"), Some("i1")),
                (3, 0, "plans", None, Some("p9"), None),
            ]
        );
        let named: Vec<Option<String>> = stored
            .into_iter()
            .flat_map(|r| r.targets)
            .map(|t| t.resource_named().resource_id)
            .collect();
        let recorded: Vec<Option<String>> = targets
            .iter()
            .chain([&target(Some("p9"), None)])
            .map(|t| t.resource_id.clone())
            .collect();
        assert_eq!(named, recorded);
        // Each event's people once, and a plan where a target names no one.
        let about: Vec<(String, i64)> = diesel::sql_query(
            "SELECT about, event_id FROM audit_targets_about ORDER BY event_id, about",
        )
        .load_native::<About>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|a| (a.about, a.event_id))
        .collect();
        assert_eq!(about, vec![("i1".into(), 2), ("p9".into(), 3)]);
    }

    #[derive(QueryableByName)]
    struct About {
        #[diesel(sql_type = diesel::sql_types::Text)]
        about: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        event_id: i64,
    }

    /// Only the targets about the asked-for person are given back when a question names her.
    #[test]
    fn a_record_read_for_a_person_keeps_only_her_targets() {
        let access = StoredAccess {
            event: AuditEventRow {
                id: 7,
                occurred_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
                subject: "tester".into(),
                unit: HsaId::parse("SE2321000016-PSY1").unwrap(),
                principal: Principal::Region,
                action: "list".into(),
                resource_type: "plans".into(),
                resource_id: None,
                plan_id: None,
                individual_id: None,
                result: "allowed".into(),
                status: 200,
                request_id: "r".into(),
            },
            targets: Some(
                r#"[["plans",null,"p1","her"],["plans",null,"p2","him"],["deviations","d1","p3",null]]"#
                    .into(),
            ),
        };
        let keys: BTreeSet<String> = ["her".into(), "p3".into()].into();
        let record = access.clone().stored_record(Some(&keys)).unwrap();
        let kept: Vec<(i32, Option<&str>)> = record
            .targets
            .iter()
            .map(|t| (t.position, t.plan_id.as_deref()))
            .collect();
        assert_eq!(kept, vec![(0, Some("p1")), (2, Some("p3"))]);
        assert_eq!(access.stored_record(None).unwrap().targets.len(), 3);
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
