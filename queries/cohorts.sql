-- @title Cohort retention: clients by month of first membership start, share with a current membership 1..24 months later (SPEC §5.5)
-- @requires clients: cohorts are clients of the clients table
-- @requires memberships: cohorts and retention are defined by memberships
--
-- A client belongs to the cohort of the calendar month in which the first membership started
-- (on or before D). The client is retained k months later if a membership is current
-- (start_date <= S + k months <= effective end, non-cancelled) on the date k calendar months
-- after the first start S (the month's last day when it has no such day). A cell (cohort, k)
-- is reported once every client of the cohort has reached S + k months by D. Cohorts: the
-- last $cohort_months months whose first cell can be reported.

-- @include base.sql
CREATE TABLE co_cell AS
WITH
first AS (
    SELECT cid, first_start, CAST(date_trunc('month', first_start) AS DATE) AS cohort
    FROM lc_first
    WHERE first_start <= $as_of::DATE
),
-- k = 1 .. $cohort_months, with the month intervals made once per k rather than once per
-- client and k
months AS (
    SELECT
        k AS months_after,
        CAST(concat(k, ' months') AS INTERVAL) AS step,
        CAST(concat(k + 1, ' months') AS INTERVAL) AS step_next
    FROM (SELECT unnest(range(1, $cohort_months::BIGINT + 1)) AS k) r
),
-- the cells that can be reported: (cohort, k) once the cohort's last client, started on the
-- cohort month's last day, has reached k months on by D; for the last $cohort_months cohorts
-- whose first month can be reported (the latest such cohort is the month two months before
-- the one holding D + 1)
cells AS (
    SELECT c.cohort, m.months_after, m.step
    FROM (SELECT DISTINCT cohort FROM first) c
    CROSS JOIN months m
    WHERE CAST(c.cohort + m.step_next AS DATE) - 1 <= $as_of::DATE
      AND c.cohort >= CAST(date_trunc('month', $as_of::DATE + 1) AS DATE)
                      - CAST(concat($cohort_months::BIGINT + 1, ' months') AS INTERVAL)
),
-- each client of a reported cell, probed k months after the first start
probe AS (
    SELECT f.cid, f.cohort, c.months_after, CAST(f.first_start + c.step AS DATE) AS at
    FROM cells c
    JOIN first f ON f.cohort = c.cohort
),
-- whether a membership is current at the probe
retained AS (
    SELECT p.cohort, p.months_after, p.cid, bool_or(m.cid IS NOT NULL) AS retained
    FROM probe p
    LEFT JOIN lc_membership m
      ON m.cid = p.cid AND m.start_date <= p.at AND p.at <= m.effective_end
    GROUP BY p.cohort, p.months_after, p.cid
)
SELECT
    cohort,
    months_after,
    count(*) AS clients,
    count(CASE WHEN retained THEN 1 END) AS retained,
    CAST(count(CASE WHEN retained THEN 1 END) AS DOUBLE) / count(*) AS share
FROM retained
GROUP BY cohort, months_after;

-- The retention matrix (heat map): one row per cohort, the share retained k = 1..24 months on
-- (empty where not yet known).
-- @output matrix
WITH sizes AS (
    SELECT cohort, max(clients) AS clients FROM co_cell GROUP BY cohort
),
pivot AS (
    SELECT
        s.cohort,
        s.clients,
        max(CASE WHEN c.months_after = 1 THEN c.share END) AS m01,
        max(CASE WHEN c.months_after = 2 THEN c.share END) AS m02,
        max(CASE WHEN c.months_after = 3 THEN c.share END) AS m03,
        max(CASE WHEN c.months_after = 4 THEN c.share END) AS m04,
        max(CASE WHEN c.months_after = 5 THEN c.share END) AS m05,
        max(CASE WHEN c.months_after = 6 THEN c.share END) AS m06,
        max(CASE WHEN c.months_after = 7 THEN c.share END) AS m07,
        max(CASE WHEN c.months_after = 8 THEN c.share END) AS m08,
        max(CASE WHEN c.months_after = 9 THEN c.share END) AS m09,
        max(CASE WHEN c.months_after = 10 THEN c.share END) AS m10,
        max(CASE WHEN c.months_after = 11 THEN c.share END) AS m11,
        max(CASE WHEN c.months_after = 12 THEN c.share END) AS m12,
        max(CASE WHEN c.months_after = 13 THEN c.share END) AS m13,
        max(CASE WHEN c.months_after = 14 THEN c.share END) AS m14,
        max(CASE WHEN c.months_after = 15 THEN c.share END) AS m15,
        max(CASE WHEN c.months_after = 16 THEN c.share END) AS m16,
        max(CASE WHEN c.months_after = 17 THEN c.share END) AS m17,
        max(CASE WHEN c.months_after = 18 THEN c.share END) AS m18,
        max(CASE WHEN c.months_after = 19 THEN c.share END) AS m19,
        max(CASE WHEN c.months_after = 20 THEN c.share END) AS m20,
        max(CASE WHEN c.months_after = 21 THEN c.share END) AS m21,
        max(CASE WHEN c.months_after = 22 THEN c.share END) AS m22,
        max(CASE WHEN c.months_after = 23 THEN c.share END) AS m23,
        max(CASE WHEN c.months_after = 24 THEN c.share END) AS m24
    FROM sizes s
    JOIN co_cell c ON c.cohort = s.cohort
    GROUP BY s.cohort, s.clients
)
SELECT * FROM pivot
ORDER BY cohort;

-- Every reported cell: cohort, months after the first start, clients, retained, share.
-- @output cells detail
SELECT cohort, months_after, clients, retained, share
FROM co_cell
ORDER BY cohort, months_after;
