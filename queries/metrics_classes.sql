-- @title Period metrics of a group-class school per branch and in total: subscription renewal and churn, active share, attendance, revenue, new students, leads, NPS (SPEC §5.2, §6)
-- @requires clients: every metric counts clients of the clients table
-- @requires memberships: renewal and churn are defined by subscriptions
-- @requires visits: stages and visits_per_member_week count attended classes
-- @optional sales: revenue and revenue_per_visit are empty
-- @optional feedback: nps is empty
--
-- Profile `classes` (profiles/classes.toml names this file instead of metrics.sql). The
-- metrics are the §5.2 ones, computed once in metrics_core.sql over the school's stages
-- (lifecycle_classes.sql, which the profile uses instead of lifecycle.sql); this file only
-- leaves out those a school does not have (starter package, personal training, the fitness
-- `inactive` stage). `new_clients`: students whose first subscription started in the period;
-- `active_share`: students attending at the period's end among those with a current
-- subscription.

-- @include metrics_core.sql

-- @output metrics
SELECT
    period_start,
    period_end,
    branch,
    renewal_rate,
    churn_rate,
    active_share,
    visits_per_member_week,
    revenue,
    revenue_per_visit,
    new_clients,
    leads,
    nps
FROM mt_metrics
-- (`branch || ''`: see segmentation.sql)
ORDER BY period_start, branch <> '(all)', branch || '';
