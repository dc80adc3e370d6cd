-- Visits at each evaluation date, by the rules of SPEC §5.1 that count them. Not an analysis:
-- included by the lifecycle files (lifecycle.sql, lifecycle_classes.sql). The including file
-- first defines `eval_dates(d DATE)`.
--
-- @include base.sql

-- Per date: the days looked back on, d - back for back = 0, 1, ...: at every date the last
-- $inactive_days days (the `inactive` rule), and at D as far as the longest look-back (84 days
-- for `at_risk`). `at_risk` is a flag of the client list at D; no analysis reads it at an
-- earlier date, and looking 84 days back from every period boundary of the metrics was most of
-- their cost: at other dates it is unknown (NULL). Which windows each day falls in is 1 or 0,
-- for counting. Visits join these on the day, an equality (a hash join), rather than on a range
-- of days (a nested loop over every date and every visit).
CREATE VIEW lc_lookback AS
SELECT
    e.d,
    e.d - CAST(b.back AS INTEGER) AS day,
    -- the last $inactive_days days
    CASE WHEN b.back <= $inactive_days::BIGINT - 1 THEN 1 ELSE 0 END AS in_inactive_window,
    -- the last 28 days (V28) and the 56 days before those (V56, days 28..83 back): `at_risk`
    CASE WHEN b.back <= 27 THEN 1 ELSE 0 END AS in_v28,
    CASE WHEN b.back BETWEEN 28 AND 83 THEN 1 ELSE 0 END AS in_v56
FROM eval_dates e
CROSS JOIN (
    SELECT unnest(range(greatest(84, $inactive_days::BIGINT))) AS back
) b
WHERE b.back <= $inactive_days::BIGINT - 1 OR e.d = $as_of::DATE;

-- Per date and client with a visit in the look-back: visits in the last $inactive_days days,
-- and at D V28, V56 and the `at_risk` flag: V56 >= 4 and the weekly rate V28/4 is below half
-- of V56/8, i.e. 4*V28 < V56 (a client missing here has no visit in the look-back: at D, not
-- at risk).
CREATE VIEW lc_visits_at AS
SELECT
    d,
    cid,
    recent_visits,
    v28,
    v56,
    v56 >= 4 AND 4 * v28 < v56 AS at_risk
FROM (
    SELECT
        b.d,
        v.cid,
        sum(b.in_inactive_window) AS recent_visits,
        CASE WHEN b.d = $as_of::DATE THEN sum(b.in_v28) END AS v28,
        CASE WHEN b.d = $as_of::DATE THEN sum(b.in_v56) END AS v56
    FROM lc_lookback b
    JOIN lc_visit v ON v.day = b.day
    WHERE b.in_inactive_window + b.in_v28 + b.in_v56 > 0
      -- (implied by the join, but written out on the timestamp so that only the visits of the
      -- days looked back on are read past the scan, dated and matched to their client)
      AND v.visited_at >= CAST((SELECT min(day) FROM lc_lookback) AS TIMESTAMP)
      AND v.visited_at < CAST((SELECT max(d) FROM eval_dates) + 1 AS TIMESTAMP)
    GROUP BY b.d, v.cid
) counted;
