//! The tables, written by hand with SQL types portable over SQLite and PostgreSQL
//! (see `migrations/{sqlite,postgres}`).

diesel::table! {
    individuals (id) {
        id -> Text,
        identity_number -> Text,
        identity_kind -> Text,
        given_name -> Text,
        family_name -> Text,
        protected_identity -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    guardians (id) {
        id -> Text,
        individual_id -> Text,
        position -> Integer,
        name -> Text,
        identity_number -> Nullable<Text>,
    }
}

diesel::table! {
    plans (id) {
        id -> Text,
        individual_id -> Text,
        initiating_unit -> Text,
        initiating_principal -> Text,
        created_by -> Text,
        need_reason -> Text,
        what_matters -> Nullable<Text>,
        topics_to_avoid -> Text,
        follows_discharge -> Bool,
        discharge_ready_at -> Nullable<Timestamp>,
        status -> Text,
        closing_reason -> Nullable<Text>,
        closing_note -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        plan_id -> Text,
        outcome -> Text,
        form -> Text,
        documented_by -> Nullable<Text>,
        permits_sharing -> Bool,
        permits_summons -> Bool,
        permits_establishing -> Bool,
        permits_relatives -> Bool,
        not_consented_to -> Text,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        note -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawal_reason -> Nullable<Text>,
        recorded_by -> Text,
        recorded_by_unit -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consent_givers (consent_id, position) {
        consent_id -> Text,
        position -> Integer,
        role -> Text,
        guardian_id -> Nullable<Text>,
        name -> Nullable<Text>,
        representative_kind -> Nullable<Text>,
    }
}

diesel::table! {
    consent_parties (consent_id, position) {
        consent_id -> Text,
        position -> Integer,
        kind -> Text,
        hsa_id -> Nullable<Text>,
        name -> Text,
        principal -> Text,
    }
}

diesel::table! {
    change_events (seq) {
        seq -> BigInt,
        event_type -> Text,
        resource_type -> Text,
        resource_id -> Text,
        plan_id -> Nullable<Text>,
        version -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        reason -> Nullable<Text>,
        subject -> Text,
        unit -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(guardians -> individuals (individual_id));
diesel::joinable!(plans -> individuals (individual_id));
diesel::joinable!(consents -> plans (plan_id));
diesel::joinable!(consent_givers -> consents (consent_id));
diesel::joinable!(consent_parties -> consents (consent_id));

diesel::allow_tables_to_appear_in_same_query!(
    individuals,
    guardians,
    plans,
    consents,
    consent_givers,
    consent_parties,
    change_events,
);
