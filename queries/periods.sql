-- The reporting periods (SPEC §5.0): the last $periods complete calendar periods of $grain
-- (week, month or quarter; weeks start on Monday) that end on or before D. Not an analysis:
-- included by the analyses that report per period.
--
-- period(period_start DATE, period_end DATE), one row per period.
CREATE VIEW period AS
WITH
unit AS (
    SELECT
        CASE $grain::VARCHAR WHEN 'week' THEN 7 WHEN 'month' THEN 1 ELSE 3 END AS size,
        CASE $grain::VARCHAR WHEN 'week' THEN ' days' ELSE ' months' END AS unit,
        -- the last complete period ends the day before the period that holds D + 1 starts
        CAST(date_trunc($grain::VARCHAR, $as_of::DATE + 1) AS DATE) - 1 AS last_end
),
back AS (
    SELECT unnest(range($periods::BIGINT)) AS k
),
starts AS (
    SELECT
        CAST(date_trunc($grain::VARCHAR, u.last_end) AS DATE)
            - CAST(concat(b.k * u.size, u.unit) AS INTERVAL) AS period_start,
        u.size,
        u.unit
    FROM unit u
    CROSS JOIN back b
)
SELECT
    period_start,
    CAST(period_start + CAST(concat(size, unit) AS INTERVAL) AS DATE) - 1 AS period_end
FROM starts;

-- period_day(period_start DATE, day DATE): every day of every period, so that events join
-- their period on the day, an equality (a hash join), rather than on a range of days (a
-- nested loop over every period and every event). A period is at most 92 days long.
CREATE VIEW period_day AS
SELECT p.period_start, p.period_start + CAST(k.k AS INTEGER) AS day
FROM period p
CROSS JOIN (SELECT unnest(range(92)) AS k) k
WHERE p.period_start + CAST(k.k AS INTEGER) <= p.period_end;
