-- The function as 2026-11-30-000012_plan_document made it: each list ordered in SQL.
CREATE OR REPLACE FUNCTION plan_document_rows(p_plan_id TEXT, p_individual_id TEXT) RETURNS TEXT
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object(
        'individual', (SELECT row_to_json(i) FROM individuals i WHERE i.id = p_individual_id),
        'guardians', (SELECT coalesce(json_agg(g ORDER BY g.position), '[]')
                      FROM guardians g WHERE g.individual_id = p_individual_id),
        'consents', (SELECT coalesce(json_agg(c ORDER BY c.id), '[]')
                     FROM consents c WHERE c.plan_id = p_plan_id),
        'consent_givers', (SELECT coalesce(json_agg(g ORDER BY g.consent_id, g.position), '[]')
                           FROM consent_givers g JOIN consents c ON c.id = g.consent_id
                           WHERE c.plan_id = p_plan_id),
        'consent_parties', (SELECT coalesce(json_agg(p ORDER BY p.consent_id, p.position), '[]')
                            FROM consent_parties p JOIN consents c ON c.id = p.consent_id
                            WHERE c.plan_id = p_plan_id),
        'summons', (SELECT coalesce(json_agg(s ORDER BY s.id), '[]')
                    FROM summons s WHERE s.plan_id = p_plan_id),
        'recipients', (SELECT coalesce(json_agg(r ORDER BY r.summons_id, r.position), '[]')
                       FROM summons_recipients r WHERE r.plan_id = p_plan_id),
        'meeting', (SELECT row_to_json(m) FROM meetings m WHERE m.plan_id = p_plan_id),
        'goals', (SELECT coalesce(json_agg(g ORDER BY g.position, g.id), '[]')
                  FROM goals g WHERE g.plan_id = p_plan_id),
        'interventions', (SELECT coalesce(json_agg(i ORDER BY i.position, i.id), '[]')
                          FROM interventions i WHERE i.plan_id = p_plan_id),
        'intervention_goals', (SELECT coalesce(json_agg(json_build_array(l.intervention_id, l.goal_id)
                                                        ORDER BY l.intervention_id, l.goal_id), '[]')
                               FROM intervention_goals l JOIN interventions i ON i.id = l.intervention_id
                               WHERE i.plan_id = p_plan_id),
        'follow_ups', (SELECT coalesce(json_agg(f ORDER BY f.scheduled_on, f.id), '[]')
                       FROM follow_ups f WHERE f.plan_id = p_plan_id),
        'closure_notices', (SELECT coalesce(json_agg(n ORDER BY n.position), '[]')
                            FROM closure_notices n WHERE n.plan_id = p_plan_id)
    )::text);
END
$$;
