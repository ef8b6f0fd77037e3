//! The ids of the service's resources: one type a kind (`PlanId`, `IndividualId`, …), so a use
//! case that takes a plan's id and a goal's cannot be given them the other way round. Every id is
//! a UUID, kept in its lowercase hyphenated form; it is parsed once, at the edge (a path, a body,
//! a query), and an input that is not a UUID names nothing: "no plan has this id" (404), never
//! repeating what was sent.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// What kind of resource an id names: its name, and the problem's text for an id that names
/// nothing of the kind.
pub trait IdKind {
    const NAME: &'static str;
    const NOT_FOUND: &'static str;
}

/// The id of a resource of kind `K`. Stored as text (the conversions are in `db::ids`).
#[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Id<K> {
    uuid: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    /// A new id: a UUID of version 7, which begins with the time — ids sort in creation order,
    /// which the cursors of lists rely on, and new rows go to the end of the indexes on them.
    pub fn new() -> Self {
        Id::from_uuid(uuid::Uuid::now_v7())
    }

    fn from_uuid(uuid: uuid::Uuid) -> Self {
        Id {
            uuid: uuid.to_string(),
            kind: PhantomData,
        }
    }

    /// The id an input names, if it is a UUID (any of the forms `uuid` reads).
    pub fn parse(input: &str) -> Result<Self, NoSuchId> {
        uuid::Uuid::parse_str(input)
            .map(Id::from_uuid)
            .map_err(|_| NoSuchId(K::NOT_FOUND))
    }

    /// An id read back from the database, which stores only ids this type wrote.
    pub fn stored(uuid: String) -> Self {
        Id {
            uuid,
            kind: PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.uuid
    }
}

/// An input that is not the id of anything: its problem's text, which never repeats the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchId(pub &'static str);

impl fmt::Display for NoSuchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for NoSuchId {}

impl<K: IdKind> Default for Id<K> {
    fn default() -> Self {
        Id::new()
    }
}

// Written out rather than derived: a derive would ask the kind itself to be `Clone`, `Eq`, ….
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Id {
            uuid: self.uuid.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<K> Eq for Id<K> {}

impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Id({})", K::NAME, self.uuid)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uuid)
    }
}

/// An id is used as text wherever the stores take text; that is one way only — text never
/// becomes an id without `parse`.
impl<K> std::ops::Deref for Id<K> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.uuid
    }
}

impl<K> PartialEq<str> for Id<K> {
    fn eq(&self, other: &str) -> bool {
        self.uuid == other
    }
}

impl<K> PartialEq<&str> for Id<K> {
    fn eq(&self, other: &&str) -> bool {
        self.uuid == *other
    }
}

impl<K> PartialEq<String> for Id<K> {
    fn eq(&self, other: &String) -> bool {
        &self.uuid == other
    }
}

impl<K> PartialEq<Id<K>> for String {
    fn eq(&self, other: &Id<K>) -> bool {
        self == &other.uuid
    }
}

/// Maps keyed by id can be asked with text (the same hash and order as the text's).
impl<K> std::borrow::Borrow<str> for Id<K> {
    fn borrow(&self) -> &str {
        &self.uuid
    }
}

impl<K> From<Id<K>> for String {
    fn from(id: Id<K>) -> String {
        id.uuid
    }
}

impl<K> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.uuid)
    }
}

/// Read from a path, a body or a query: a non-UUID is the kind's "no … has this id".
impl<'de, K: IdKind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Id::parse(&text).map_err(|e| serde::de::Error::custom(e.0))
    }
}

macro_rules! id_kinds {
    ($($(#[$doc:meta])* $alias:ident => $kind:ident, $name:literal;)*) => {
        $(
            #[derive(Debug)]
            pub enum $kind {}
            impl IdKind for $kind {
                const NAME: &'static str = $name;
                const NOT_FOUND: &'static str = concat!("no ", $name, " has this id");
            }
            $(#[$doc])*
            pub type $alias = Id<$kind>;
        )*

        /// The problem's text that a failed id in a path carries, if `message` is one of them —
        /// so a path's problem names the kind without ever repeating the input.
        pub fn not_found_text(message: &str) -> Option<&'static str> {
            [$(<$kind as IdKind>::NOT_FOUND),*].into_iter().find(|text| *text == message)
        }
    };
}

id_kinds! {
    /// A plan (samordnad individuell plan).
    PlanId => Plan, "plan";
    /// An individual: the person a plan is for.
    IndividualId => Individual, "individual";
    /// A consent recorded on a plan.
    ConsentId => Consent, "consent";
    /// A goal of a plan.
    GoalId => Goal, "goal";
    /// An intervention (insats) of a plan.
    InterventionId => Intervention, "intervention";
    /// A summons (kallelse) to a meeting.
    SummonsId => Summons, "summons";
    /// A recipient of a summons.
    RecipientId => Recipient, "recipient";
    /// A follow-up (uppföljning) of a plan.
    FollowUpId => FollowUp, "follow-up";
    /// A reported deviation (avvikelse).
    DeviationId => Deviation, "deviation";
    /// A webhook subscription.
    SubscriptionId => Subscription, "subscription";
    /// A bulk import.
    ImportId => Import, "import";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_uuid_in_one_form_and_anything_else_names_nothing() {
        let upper = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
        let id = PlanId::parse(upper).unwrap();
        assert_eq!(id.as_str(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert_eq!(id, PlanId::parse(&upper.to_lowercase()).unwrap());
        for bad in ["", "42", "6f9619ff-8b86-d011-b42d", "<script>"] {
            assert_eq!(PlanId::parse(bad), Err(NoSuchId("no plan has this id")));
        }
        assert_eq!(
            GoalId::parse("x").unwrap_err().to_string(),
            "no goal has this id"
        );
    }

    #[test]
    fn an_id_reads_from_json_and_its_failure_names_the_kind_not_the_input() {
        let id: IndividualId =
            serde_json::from_str("\"6f9619ff-8b86-d011-b42d-00c04fc964ff\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"6f9619ff-8b86-d011-b42d-00c04fc964ff\""
        );
        let error = serde_json::from_str::<IndividualId>("\"secret-text\"")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("no individual has this id"), "{error}");
        assert!(!error.contains("secret"));
        assert_eq!(
            not_found_text("no individual has this id"),
            Some("no individual has this id")
        );
        assert_eq!(not_found_text("no secret has this id"), None);
    }
}
