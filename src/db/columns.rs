//! The domain's typed values as text columns, on each backend and on the multi-backend
//! connection: the ids (`domain::ids`), and the states and kinds that rows hold (`PlanStatus`,
//! `Principal`, …). An id read back is trusted (only ids this service wrote are stored there); a
//! state that is not one of its kind's is corrupt data — a deserialisation error, which the
//! service answers as an internal error (500) naming no value.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::MultiBackend;
use crate::domain::consent::{
    ConsentForm, ConsentOutcome, ConsentWindows, GiverRole, PartyKind, RepresentativeKind,
};
use crate::domain::deviation::{Category, DeviationStatus};
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::HsaId;
use crate::domain::ids::{Id, IdKind};
use crate::domain::import::{ImportStatus, RecordOutcome};
use crate::domain::plan::{ClosingReason, PlanStatus};
use crate::domain::process::{
    Decision, GoalStatus, InterventionStatus, MeetingForm, Obligation, Response, ResponsibleParty,
};
use crate::domain::webhook::{DeliveryStatus, SubscriptionStatus};
use crate::domain::Principal;

impl<K: IdKind + 'static> ToSql<Text, Pg> for Id<K> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl<K: IdKind + 'static> ToSql<Text, Sqlite> for Id<K> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        <str as ToSql<Text, Sqlite>>::to_sql(self.as_str(), out)
    }
}

impl<K: IdKind + 'static> ToSql<Text, MultiBackend> for Id<K> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl<K: IdKind> FromSql<Text, Pg> for Id<K> {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Pg>>::from_sql(bytes).map(Id::stored)
    }
}

impl<K: IdKind> FromSql<Text, Sqlite> for Id<K> {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Sqlite>>::from_sql(bytes).map(Id::stored)
    }
}

impl<K: IdKind + 'static> FromSql<Text, MultiBackend> for Id<K> {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}

/// A domain value as a text column: written as its `as_str`, read through `read` (text → the
/// value, or none when the text is not one of the type's).
macro_rules! text_column {
    ($ty:ty, $read:expr) => {
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                $read(&text).ok_or_else(|| unknown(stringify!($ty)))
            }
        }

        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
                $read(&text).ok_or_else(|| unknown(stringify!($ty)))
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(
                bytes: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                bytes.from_sql::<Self, Text>()
            }
        }
    };
}

/// Each `text_enum!` of the domain as a text column, read through its `parse` — and, from the same
/// list, the test that each value's stored text is its serde name too.
macro_rules! text_columns {
    ($($ty:ty),+ $(,)?) => {
        $( text_column!($ty, <$ty>::parse); )+

        #[cfg(test)]
        #[test]
        fn each_stored_text_is_the_serde_name_too() {
            fn check<T: serde::Serialize + Copy>(all: &[T], text: impl Fn(T) -> &'static str) {
                for value in all {
                    assert_eq!(serde_json::to_value(value).ok(), Some(text(*value).into()));
                }
            }
            $( check(<$ty>::ALL, <$ty>::as_str); )+
        }
    };
}

// An HSA-id read back is checked like any input: one that is not well formed is corrupt data. The
// empty text is the "unit" of an individual acting through an e-service (`HsaId::none`).
text_column!(HsaId, |text: &str| if text.is_empty() {
    Some(HsaId::none())
} else {
    HsaId::parse(text).ok()
});

// A plan's consent windows: text made on writing (`ConsentWindows::to_stored`), so written as an
// owned value; read like the values above, a text that does not parse being corrupt data.
impl ToSql<Text, Pg> for ConsentWindows {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        std::io::Write::write_all(out, self.to_stored().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Sqlite> for ConsentWindows {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_stored());
        Ok(IsNull::No)
    }
}

impl ToSql<Text, MultiBackend> for ConsentWindows {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for ConsentWindows {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        ConsentWindows::from_stored(&text).ok_or_else(|| unknown("ConsentWindows"))
    }
}

impl FromSql<Text, Sqlite> for ConsentWindows {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        ConsentWindows::from_stored(&text).ok_or_else(|| unknown("ConsentWindows"))
    }
}

impl FromSql<Text, MultiBackend> for ConsentWindows {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}

/// The error for a stored value that is not one of its kind's: names the kind, never the value.
fn unknown(kind: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("a stored {kind} is not one of its kind's values").into()
}

// Every text enum that rows hold. The PostgreSQL whole-plan read (`documents`) reads rows back
// from JSON through serde, so each type's serde name must be its stored text (tested below).
text_columns!(
    PlanStatus,
    Principal,
    ClosingReason,
    GoalStatus,
    InterventionStatus,
    ResponsibleParty,
    Obligation,
    MeetingForm,
    DeviationStatus,
    Category,
    ConsentOutcome,
    ConsentForm,
    GiverRole,
    PartyKind,
    SubscriptionStatus,
    ImportStatus,
    Response,
    Decision,
    RepresentativeKind,
    DeliveryStatus,
    RecordOutcome,
    EventType,
    ResourceType,
);
