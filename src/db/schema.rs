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
        registered_by_unit -> Nullable<Text>,
        duplicate_of -> Nullable<Text>,
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
        revision -> Integer,
        next_follow_up_on -> Nullable<Date>,
        procedure_code -> Nullable<Text>,
        responsible_principal -> Nullable<Text>,
        coordinator_name -> Nullable<Text>,
        coordinator_unit -> Nullable<Text>,
        consent_windows -> Text,
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
        identity_number -> Nullable<Text>,
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
    plan_access (id) {
        id -> BigInt,
        plan_id -> Text,
        unit -> Text,
        consent_id -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
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
        note -> Nullable<Text>,
        /// The feed position: the order events became visible (given after commit, `db::events`).
        position -> Nullable<BigInt>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    summons (id) {
        id -> Text,
        plan_id -> Text,
        purpose -> Text,
        questions -> Text,
        meeting_at -> Timestamp,
        meeting_place -> Text,
        meeting_form -> Text,
        support_person -> Nullable<Text>,
        interpreter_language -> Nullable<Text>,
        adaptations -> Nullable<Text>,
        sent_at -> Timestamp,
        sent_by -> Text,
        sent_by_unit -> Text,
        meeting_within_deadline -> Bool,
        summons_within_discharge_deadline -> Nullable<Bool>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    summons_recipients (id) {
        id -> Text,
        summons_id -> Text,
        plan_id -> Text,
        position -> Integer,
        kind -> Text,
        hsa_id -> Nullable<Text>,
        name -> Text,
        principal -> Text,
        obligation -> Text,
        answer_by -> Date,
        response -> Nullable<Text>,
        attendees -> Nullable<Text>,
        substitute -> Nullable<Text>,
        forwarded_from -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        attended -> Nullable<Bool>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        plan_id -> Text,
        summons_id -> Text,
        held_at -> Timestamp,
        leader_name -> Text,
        leader_unit -> Nullable<Text>,
        secretary_name -> Text,
        secretary_unit -> Nullable<Text>,
        participants -> Text,
        disagreements -> Nullable<Text>,
        individual_agreed -> Bool,
        individual_received_plan -> Bool,
        sip_survey_offered -> Bool,
        visible_in_1177 -> Bool,
        held_within_deadline -> Bool,
        procedure_code -> Text,
        recorded_by -> Text,
        recorded_by_unit -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    goals (id) {
        id -> Text,
        plan_id -> Text,
        parent_id -> Nullable<Text>,
        position -> Integer,
        text -> Text,
        measure -> Nullable<Text>,
        target_date -> Nullable<Date>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    interventions (id) {
        id -> Text,
        plan_id -> Text,
        position -> Integer,
        description -> Text,
        responsible_principal -> Text,
        responsible_unit -> Nullable<Text>,
        responsible_actor -> Nullable<Text>,
        performer -> Nullable<Text>,
        start_date -> Nullable<Date>,
        frequency -> Nullable<Text>,
        place -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        reviewed_in_revision -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    intervention_goals (intervention_id, goal_id) {
        intervention_id -> Text,
        goal_id -> Text,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> Text,
        plan_id -> Text,
        scheduled_on -> Date,
        place -> Text,
        held_on -> Nullable<Date>,
        goal_outcomes -> Nullable<Text>,
        intervention_reviews -> Nullable<Text>,
        new_circumstances -> Nullable<Text>,
        decision -> Nullable<Text>,
        closing_reason -> Nullable<Text>,
        recorded_by -> Nullable<Text>,
        recorded_by_unit -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plan_revisions (plan_id, revision) {
        plan_id -> Text,
        revision -> Integer,
        established_at -> Timestamp,
        established_by -> Text,
        document -> Text,
    }
}

diesel::table! {
    closure_notices (plan_id, position) {
        plan_id -> Text,
        position -> Integer,
        hsa_id -> Nullable<Text>,
        name -> Text,
        principal -> Text,
    }
}

diesel::joinable!(guardians -> individuals (individual_id));
diesel::joinable!(plans -> individuals (individual_id));
diesel::joinable!(consents -> plans (plan_id));
diesel::joinable!(consent_givers -> consents (consent_id));
diesel::joinable!(consent_parties -> consents (consent_id));
diesel::joinable!(plan_access -> plans (plan_id));
diesel::joinable!(summons -> plans (plan_id));
diesel::joinable!(summons_recipients -> summons (summons_id));
diesel::joinable!(meetings -> plans (plan_id));
diesel::joinable!(meetings -> summons (summons_id));
diesel::joinable!(goals -> plans (plan_id));
diesel::joinable!(interventions -> plans (plan_id));
diesel::joinable!(follow_ups -> plans (plan_id));
diesel::joinable!(intervention_goals -> interventions (intervention_id));

diesel::allow_tables_to_appear_in_same_query!(
    individuals,
    guardians,
    plans,
    consents,
    consent_givers,
    consent_parties,
    plan_access,
    change_events,
    summons,
    summons_recipients,
    meetings,
    goals,
    interventions,
    intervention_goals,
    follow_ups,
    plan_revisions,
    closure_notices,
    deviations,
    audit_events,
);

diesel::table! {
    deviations (id) {
        id -> Text,
        category -> Text,
        status -> Text,
        source -> Text,
        source_key -> Nullable<Text>,
        reporting_unit -> Text,
        reporting_principal -> Text,
        concerned_unit -> Nullable<Text>,
        concerned_name -> Nullable<Text>,
        concerned_principal -> Text,
        plan_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        description -> Text,
        system_level -> Bool,
        temporary_division -> Nullable<Text>,
        feedback_due -> Date,
        feedback -> Nullable<Text>,
        feedback_at -> Nullable<Timestamp>,
        analysis -> Nullable<Text>,
        action_taken -> Nullable<Text>,
        dismissal_reason -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(deviations -> plans (plan_id));

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        subject -> Text,
        unit -> Text,
        principal -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        plan_id -> Nullable<Text>,
        individual_id -> Nullable<Text>,
        result -> Text,
        status -> Integer,
        request_id -> Text,
        /// What the access showed besides what its request names, as one JSON array of
        /// `[resource_type, resource_id, plan_id, individual_id]` (`db::audit`). On PostgreSQL
        /// the row also holds `targets_about`, a text array only `db::audit`'s SQL names.
        targets -> Nullable<Text>,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        unit -> Text,
        principal -> Text,
        url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        status -> Text,
        paused_reason -> Nullable<Text>,
        paused_at -> Nullable<Timestamp>,
        after_position -> BigInt,
        consecutive_failures -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_seq -> BigInt,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        subscription_id -> Text,
        attempted_at -> Timestamp,
        succeeded -> Bool,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Integer,
    }
}

diesel::joinable!(webhook_deliveries -> subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(subscriptions, webhook_deliveries, webhook_attempts);

diesel::table! {
    imports (id) {
        id -> Text,
        source_system -> Text,
        dry_run -> Bool,
        status -> Text,
        failure -> Nullable<Text>,
        unit -> Text,
        principal -> Text,
        created_by -> Text,
        lines_read -> BigInt,
        created_count -> BigInt,
        updated_count -> BigInt,
        unchanged_count -> BigInt,
        failed_count -> BigInt,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        alive_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_records (import_id, line) {
        import_id -> Text,
        line -> BigInt,
        external_id -> Nullable<Text>,
        outcome -> Text,
        plan_id -> Nullable<Text>,
        errors -> Nullable<Text>,
    }
}

diesel::table! {
    import_keys (source_system, kind, external_id) {
        source_system -> Text,
        kind -> Text,
        external_id -> Text,
        resource_id -> Text,
        plan_id -> Nullable<Text>,
        fingerprint -> Text,
        updated_at -> Timestamp,
        parts -> Nullable<Text>,
    }
}

diesel::joinable!(import_records -> imports (import_id));
diesel::allow_tables_to_appear_in_same_query!(imports, import_records, import_keys);

diesel::table! {
    summons_preparations (summons_id) {
        summons_id -> Text,
        plan_id -> Text,
        questions -> Text,
        brings_support_person -> Bool,
        prepared_by -> Text,
        version -> BigInt,
        prepared_at -> Timestamp,
    }
}

diesel::table! {
    survey_codes (code_hash) {
        code_hash -> Text,
        principal -> Text,
        expires_on -> Date,
    }
}

diesel::table! {
    survey_answers (id) {
        id -> Text,
        month -> Text,
        principal -> Text,
        participation -> Integer,
        listened_to -> Integer,
        language -> Integer,
        coordinator -> Integer,
        roles_clear -> Integer,
        got_plan -> Integer,
    }
}

diesel::table! {
    survey_code_issues (meeting_id) {
        meeting_id -> Text,
    }
}

diesel::table! {
    audit_seals (chain_seq) {
        chain_seq -> BigInt,
        event_id -> BigInt,
        hash -> Text,
        sealed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(audit_events, audit_seals);

diesel::joinable!(summons_preparations -> summons (summons_id));
diesel::allow_tables_to_appear_in_same_query!(summons, summons_preparations);
