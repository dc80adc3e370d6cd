-- @title Period metrics per branch and in total: renewal, churn, starter package, PT conversion, reactivation, stage shares, visits, revenue, NPS (SPEC §5.2)
-- @requires clients: every metric counts clients of the clients table
-- @requires memberships: renewal, churn, stages and starter figures are defined by memberships
-- @requires visits: stages, reactivation and visits_per_member_week count visits
-- @optional services: starter_completion_rate and starter_delivery are empty
-- @optional sales: revenue, revenue_per_visit and starter_to_pt_conversion are empty
-- @optional feedback: nps is empty
--
-- One row per complete period of $grain (the last $periods ending on or before D) and scope:
-- `(all)` and each branch. Metrics go by the client's branch (clients table), except
-- renewal_rate, which goes by the membership's branch. A rate whose denominator is 0 is empty.
-- Facts are taken as known at D: a renewal counts when it was bought by D.

-- @include metrics_core.sql

-- @output metrics
SELECT *
FROM mt_metrics
-- (`branch || ''`: see segmentation.sql)
ORDER BY period_start, branch <> '(all)', branch || '';

-- starter_delivery_by_department per period and department (see metrics_core.sql).
-- @output starter_delivery
SELECT *
FROM mt_starter_delivery
ORDER BY period_start, department <> '(all)', department || '';
