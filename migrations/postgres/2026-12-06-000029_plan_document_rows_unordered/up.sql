-- The whole-plan document's rows without ORDER BY in their aggregates: each ordered aggregate
-- sorts its few rows in a sort of its own (set up and torn down on every call, twelve a call), a
-- fifth of the function's time (pgbench, 1,000 plans: 0.62-0.72 ms a call against 0.46-0.60
-- without). The service puts each list in the document's order itself (`db::documents`), the same
-- order each table's own query gives on SQLite.
CREATE OR REPLACE FUNCTION plan_document_rows(p_plan_id TEXT, p_individual_id TEXT) RETURNS TEXT
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object(
        'individual', (SELECT row_to_json(i) FROM individuals i WHERE i.id = p_individual_id),
        'guardians', (SELECT coalesce(json_agg(g), '[]')
                      FROM guardians g WHERE g.individual_id = p_individual_id),
        'consents', (SELECT coalesce(json_agg(c), '[]')
                     FROM consents c WHERE c.plan_id = p_plan_id),
        'consent_givers', (SELECT coalesce(json_agg(g), '[]')
                           FROM consent_givers g JOIN consents c ON c.id = g.consent_id
                           WHERE c.plan_id = p_plan_id),
        'consent_parties', (SELECT coalesce(json_agg(p), '[]')
                            FROM consent_parties p JOIN consents c ON c.id = p.consent_id
                            WHERE c.plan_id = p_plan_id),
        'summons', (SELECT coalesce(json_agg(s), '[]')
                    FROM summons s WHERE s.plan_id = p_plan_id),
        'recipients', (SELECT coalesce(json_agg(r), '[]')
                       FROM summons_recipients r WHERE r.plan_id = p_plan_id),
        'meeting', (SELECT row_to_json(m) FROM meetings m WHERE m.plan_id = p_plan_id),
        'goals', (SELECT coalesce(json_agg(g), '[]')
                  FROM goals g WHERE g.plan_id = p_plan_id),
        'interventions', (SELECT coalesce(json_agg(i), '[]')
                          FROM interventions i WHERE i.plan_id = p_plan_id),
        'intervention_goals', (SELECT coalesce(json_agg(json_build_array(l.intervention_id, l.goal_id)), '[]')
                               FROM intervention_goals l JOIN interventions i ON i.id = l.intervention_id
                               WHERE i.plan_id = p_plan_id),
        'follow_ups', (SELECT coalesce(json_agg(f), '[]')
                       FROM follow_ups f WHERE f.plan_id = p_plan_id),
        'closure_notices', (SELECT coalesce(json_agg(n), '[]')
                            FROM closure_notices n WHERE n.plan_id = p_plan_id)
    )::text);
END
$$;
