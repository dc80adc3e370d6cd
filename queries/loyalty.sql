-- @title Loyalty economics: points the rules would have issued, their cost, the revenue of the clients who earn them, cost share and the highest affordable point value (SPEC §5.6)
-- @requires clients: points are earned by the clients of the clients table
-- @requires sales: revenue (and personal-training purchases) come from sales
-- @optional memberships: no renewal earns points
-- @optional visits: no visit earns points
--
-- The points rules are parameters (`clm-analyze run loyalty --loyalty FILE`, see
-- examples/loyalty.toml): $points_per_visit, $points_per_renewal, $points_per_pt_purchase,
-- $points_per_referral, $referral_sources, $point_value (money per point), $redemption_rate
-- (the share of issued points that are ever spent), $target_cost_share (e.g. 0.05).
--
-- Points the rules would have issued, every event up to D:
--   visit     $points_per_visit for each day a client visited (several check-ins on one day
--             earn once);
--   renewal   $points_per_renewal for each membership that renews an earlier one of the client
--             (starts after its start, at most $renewal_grace_days after its effective end,
--             non-cancelled; SPEC §5.2), on the day it was bought (sold_on, else its start);
--   pt        $points_per_pt_purchase for each sale of category personal_training;
--   referral  $points_per_referral for each client whose lead_source is one of
--             $referral_sources, when the first membership is bought. The bundle does not say
--             who referred whom (no referrer in the canonical schema), so these points go to
--             an unknown client: they count in points and cost, not in earners or revenue.
-- cost = points × $point_value × $redemption_rate.
-- revenue = the sales, in the same window, of the clients who earned points in it.
-- cost_share = cost / revenue; max_point_value = the highest point value that keeps the cost
-- within $target_cost_share of the revenue: $target_cost_share × revenue / (points ×
-- $redemption_rate).
-- Scopes: each branch (the earning client's branch; for referrals the referred client's) and
-- `(all)`. Windows: each complete period of $grain (the last $periods ending on or before D:
-- output `periods`) and the whole history up to D (output `summary`).

-- @include periods.sql
-- @include base.sql
CREATE TABLE ly_event AS
WITH
renewal AS (
    SELECT DISTINCT n.membership_pid, n.client_pid, n.bought_on
    FROM lc_membership n
    JOIN lc_membership m ON m.client_pid = n.client_pid
    WHERE n.start_date > m.start_date
      AND n.start_date - m.effective_end <= $renewal_grace_days::BIGINT
),
referred AS (
    SELECT f.client_pid, m.bought_on
    FROM lc_membership m
    JOIN lc_first f ON f.first_membership_pid = m.membership_pid
    JOIN clients c ON c.client_pid = f.client_pid
    WHERE array_has($referral_sources::VARCHAR[], c.lead_source)
),
events AS (
    SELECT client_pid AS earner_pid, client_pid AS scope_pid, day, 'visit' AS kind,
           $points_per_visit::DOUBLE AS points
    FROM lc_visit_day
    UNION ALL
    SELECT client_pid AS earner_pid, client_pid AS scope_pid, bought_on AS day,
           'renewal' AS kind, $points_per_renewal::DOUBLE AS points
    FROM renewal
    UNION ALL
    SELECT client_pid AS earner_pid, client_pid AS scope_pid, day,
           'pt' AS kind, $points_per_pt_purchase::DOUBLE AS points
    FROM lc_sale
    WHERE category = 'personal_training'
    UNION ALL
    SELECT CAST(NULL AS VARCHAR) AS earner_pid, client_pid AS scope_pid, bought_on AS day,
           'referral' AS kind, $points_per_referral::DOUBLE AS points
    FROM referred
)
SELECT *
FROM events
WHERE day <= $as_of::DATE
  AND points > 0;

-- The windows: each reporting period, and the history (first event .. D).
CREATE VIEW ly_window AS
SELECT false AS is_history, period_start AS window_start, period_end AS window_end
FROM period
UNION ALL
SELECT true, (SELECT min(day) FROM ly_event), $as_of::DATE;

CREATE VIEW ly_scope AS
SELECT client_pid, coalesce(branch, '(none)') AS branch FROM lc_client
UNION ALL
SELECT client_pid, '(all)' AS branch FROM lc_client;

CREATE TABLE ly_result AS
WITH
points AS (
    SELECT w.is_history, w.window_start, w.window_end, s.branch,
           sum(CASE WHEN e.kind = 'visit' THEN e.points ELSE 0 END) AS visit_points,
           sum(CASE WHEN e.kind = 'renewal' THEN e.points ELSE 0 END) AS renewal_points,
           sum(CASE WHEN e.kind = 'pt' THEN e.points ELSE 0 END) AS pt_points,
           sum(CASE WHEN e.kind = 'referral' THEN e.points ELSE 0 END) AS referral_points,
           sum(e.points) AS points,
           count(DISTINCT e.earner_pid) AS earners
    FROM ly_window w
    JOIN ly_event e ON e.day BETWEEN w.window_start AND w.window_end
    JOIN ly_scope s ON s.client_pid = e.scope_pid
    GROUP BY w.is_history, w.window_start, w.window_end, s.branch
),
earner AS (
    SELECT DISTINCT w.is_history, w.window_start, e.earner_pid
    FROM ly_window w
    JOIN ly_event e ON e.day BETWEEN w.window_start AND w.window_end
    WHERE e.earner_pid IS NOT NULL
),
revenue AS (
    SELECT w.is_history, w.window_start, s.branch, sum(CAST(x.amount AS DOUBLE)) AS revenue
    FROM ly_window w
    JOIN earner er ON er.is_history = w.is_history AND er.window_start = w.window_start
    JOIN lc_sale x ON x.client_pid = er.earner_pid
                  AND x.day BETWEEN w.window_start AND w.window_end
    JOIN ly_scope s ON s.client_pid = er.earner_pid
    GROUP BY w.is_history, w.window_start, s.branch
),
scope AS (
    SELECT DISTINCT branch FROM ly_scope
),
grid AS (
    SELECT w.is_history, w.window_start, w.window_end, s.branch
    FROM ly_window w
    CROSS JOIN scope s
    WHERE w.window_start IS NOT NULL
)
SELECT
    g.is_history,
    g.window_start,
    g.window_end,
    g.branch,
    coalesce(p.visit_points, 0) AS visit_points,
    coalesce(p.renewal_points, 0) AS renewal_points,
    coalesce(p.pt_points, 0) AS pt_points,
    coalesce(p.referral_points, 0) AS referral_points,
    coalesce(p.points, 0) AS points,
    coalesce(p.points, 0) * $point_value::DOUBLE * $redemption_rate::DOUBLE AS cost,
    coalesce(p.earners, 0) AS earners,
    coalesce(r.revenue, 0) AS revenue,
    coalesce(p.points, 0) * $point_value::DOUBLE * $redemption_rate::DOUBLE
        / nullif(coalesce(r.revenue, 0), 0) AS cost_share,
    $target_cost_share::DOUBLE AS target_cost_share,
    $target_cost_share::DOUBLE * coalesce(r.revenue, 0)
        / nullif(coalesce(p.points, 0) * $redemption_rate::DOUBLE, 0) AS max_point_value
FROM grid g
LEFT JOIN points p
  ON p.is_history = g.is_history AND p.window_start = g.window_start AND p.branch = g.branch
LEFT JOIN revenue r
  ON r.is_history = g.is_history AND r.window_start = g.window_start AND r.branch = g.branch;

-- Per reporting period and scope. within_target: cost_share <= target_cost_share.
-- @output periods
SELECT
    window_start AS period_start,
    window_end AS period_end,
    branch,
    visit_points, renewal_points, pt_points, referral_points, points,
    cost, earners, revenue, cost_share, target_cost_share,
    cost_share <= target_cost_share AS within_target,
    max_point_value
FROM ly_result
WHERE NOT is_history
-- (`branch || ''`: see segmentation.sql)
ORDER BY period_start, branch <> '(all)', branch || '';

-- The whole history up to D, per scope, with the point value the rules were given.
-- @output summary
SELECT
    window_start AS first_date,
    window_end AS last_date,
    branch,
    visit_points, renewal_points, pt_points, referral_points, points,
    $point_value::DOUBLE AS point_value,
    $redemption_rate::DOUBLE AS redemption_rate,
    cost, earners, revenue, cost_share, target_cost_share,
    cost_share <= target_cost_share AS within_target,
    max_point_value
FROM ly_result
WHERE is_history
ORDER BY branch <> '(all)', branch || '';
