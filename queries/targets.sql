-- @title Targets against actuals: baseline (mean of the preceding periods), actual and target per period, metric and scope, and whether the target is met (SPEC §5.7)
-- @requires clients: the metrics count clients of the clients table
-- @requires memberships: the metrics are defined by memberships
-- @requires visits: the metrics count visits
--
-- Run by `clm-analyze targets --targets FILE` (see examples/targets.toml), once per grain of
-- the file's targets. The targets are bound as parallel lists, one item per target:
-- $target_metric (a §5.2 metric of metrics.sql), $target_scope (a branch or `(all)`),
-- $target_period_start (the first day of the target's period, ISO; empty: every period),
-- $target_value (the target, as text), $target_better (`higher` or `lower`; empty: the
-- metric's default: lower for the metrics of lower_is_better.sql, higher for the others).
-- $baseline_periods: the baseline is the mean of the metric over the $baseline_periods
-- periods just before the target's period (those with a value; baseline_periods_used says how
-- many). $target_recent: a target for every period is shown for the last $target_recent
-- complete periods. A target whose period is not complete by D has no actual yet (met empty).
-- met: actual >= target (higher is better) or actual <= target (lower is better).

-- @include metrics_core.sql
-- The metrics, long: one row per period, scope and metric.
CREATE TABLE tg_long AS
SELECT period_start, branch, 'renewal_rate' AS metric, CAST(renewal_rate AS DOUBLE) AS value FROM mt_metrics
UNION ALL SELECT period_start, branch, 'churn_rate', CAST(churn_rate AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'starter_completion_rate', CAST(starter_completion_rate AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'starter_to_pt_conversion', CAST(starter_to_pt_conversion AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'reactivation_rate', CAST(reactivation_rate AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'active_share', CAST(active_share AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'inactive_share', CAST(inactive_share AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'visits_per_member_week', CAST(visits_per_member_week AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'revenue', CAST(revenue AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'revenue_per_visit', CAST(revenue_per_visit AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'new_clients', CAST(new_clients AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'leads', CAST(leads AS DOUBLE) FROM mt_metrics
UNION ALL SELECT period_start, branch, 'nps', CAST(nps AS DOUBLE) FROM mt_metrics;

-- @include lower_is_better.sql
-- The targets as given, one row each.
CREATE VIEW tg_given AS
SELECT
    i AS target_no,
    array_element($target_metric::VARCHAR[], i) AS metric,
    array_element($target_scope::VARCHAR[], i) AS scope,
    array_element($target_period_start::VARCHAR[], i) AS period_start_text,
    CAST(array_element($target_value::VARCHAR[], i) AS DOUBLE) AS target,
    coalesce(nullif(array_element($target_better::VARCHAR[], i), ''),
             CASE WHEN lb.metric IS NOT NULL THEN 'lower' ELSE 'higher' END) AS better
FROM (SELECT unnest(range(1, CAST(cardinality($target_metric::VARCHAR[]) AS BIGINT) + 1)) AS i) t
LEFT JOIN lower_is_better lb ON lb.metric = array_element($target_metric::VARCHAR[], t.i);

-- One row per target and period: its own period, or each of the last $target_recent
-- complete periods for a target of every period.
CREATE TABLE tg_row AS
WITH
unit AS (
    SELECT
        CASE $grain::VARCHAR WHEN 'week' THEN 7 WHEN 'month' THEN 1 ELSE 3 END AS size,
        CASE $grain::VARCHAR WHEN 'week' THEN ' days' ELSE ' months' END AS unit
),
recent AS (
    SELECT period_start
    FROM (SELECT period_start, row_number() OVER (ORDER BY period_start DESC) AS back FROM period) p
    WHERE back <= $target_recent::BIGINT
),
starts AS (
    SELECT g.*, CAST(g.period_start_text AS DATE) AS period_start
    FROM tg_given g
    WHERE g.period_start_text <> ''
    UNION ALL
    SELECT g.*, r.period_start
    FROM tg_given g
    CROSS JOIN recent r
    WHERE g.period_start_text = ''
)
SELECT
    s.target_no, s.metric, s.scope, s.target, s.better, s.period_start,
    CAST(s.period_start + CAST(concat(u.size, u.unit) AS INTERVAL) AS DATE) - 1 AS period_end,
    CAST(s.period_start - CAST(concat($baseline_periods::BIGINT * u.size, u.unit) AS INTERVAL)
         AS DATE) AS baseline_from
FROM starts s
CROSS JOIN unit u;

-- @output targets
WITH
baseline AS (
    SELECT t.target_no, t.period_start,
           avg(l.value) AS baseline,
           count(l.value) AS baseline_periods_used
    FROM tg_row t
    JOIN tg_long l
      ON l.metric = t.metric AND l.branch = t.scope
     AND l.period_start >= t.baseline_from AND l.period_start < t.period_start
    GROUP BY t.target_no, t.period_start
),
joined AS (
    SELECT
        t.target_no,
        $grain::VARCHAR AS grain,
        CASE $grain::VARCHAR
            WHEN 'month' THEN to_char(t.period_start, '%Y-%m')
            WHEN 'quarter' THEN concat(date_part('year', t.period_start), '-Q',
                                       date_part('quarter', t.period_start))
            ELSE concat(date_part('year', t.period_start + 3), '-W',
                        lpad(CAST(date_part('week', t.period_start) AS VARCHAR), 2, '0'))
        END AS period,
        t.period_start,
        t.period_end,
        t.metric,
        t.scope,
        b.baseline,
        coalesce(b.baseline_periods_used, 0) AS baseline_periods_used,
        CASE WHEN t.period_end <= $as_of::DATE THEN l.value END AS actual,
        t.target,
        t.better
    FROM tg_row t
    LEFT JOIN baseline b ON b.target_no = t.target_no AND b.period_start = t.period_start
    LEFT JOIN tg_long l
      ON l.metric = t.metric AND l.branch = t.scope AND l.period_start = t.period_start
)
SELECT
    grain, period, period_start, period_end, metric, scope,
    baseline, baseline_periods_used, actual, target, better,
    actual - target AS gap,
    CASE
        WHEN actual IS NULL THEN NULL
        WHEN better = 'lower' THEN actual <= target
        ELSE actual >= target
    END AS met
FROM joined
ORDER BY target_no, period_start;
