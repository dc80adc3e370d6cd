-- @title Funnel of the clients registered in each period: registered → trial booked → first visit → first membership → archived (SPEC §5.3)
-- @requires clients: the funnel follows the clients registered in each period
-- @requires memberships: the `first_membership` step
-- @requires visits: the `first_visit` step
--
-- For the clients registered in each complete period of $grain (the last $periods ending on or
-- before D), per branch and `(all)`:
--   clients     how many reached the step by D (its date is known and on or before D), whether
--               or not they reached the previous one (a club may not record every trial);
--   conversion  of the clients who reached the previous step, the share who reached this one;
--   loss        the clients who reached the previous step but not this one;
--   median_days_from_previous  the median days from the previous step's date to this step's,
--               among the clients who reached both.

-- @include periods.sql
-- @include base.sql
-- One row per client registered in a period, with the date of each step (empty if not reached).
CREATE TABLE fn_client AS
SELECT
    p.period_start,
    p.period_end,
    c.client_pid,
    c.registered_on AS registered,
    CASE WHEN c.trial_booked_on <= $as_of::DATE THEN c.trial_booked_on END AS trial_booked,
    fv.first_visit,
    CASE WHEN f.first_start <= $as_of::DATE THEN f.first_start END AS first_membership,
    CASE WHEN c.archived_on <= $as_of::DATE THEN c.archived_on END AS archived
FROM period p
JOIN lc_client c ON c.registered_on BETWEEN p.period_start AND p.period_end
LEFT JOIN (
    SELECT client_pid, min(day) AS first_visit
    FROM lc_visit_day
    WHERE day <= $as_of::DATE
    GROUP BY client_pid
) fv ON fv.client_pid = c.client_pid
LEFT JOIN lc_first f ON f.client_pid = c.client_pid;

-- The steps, one row per client and step reached: whether the client reached the previous
-- step too, and the days from it.
CREATE VIEW fn_step AS
SELECT period_start, period_end, client_pid, 1 AS step_no,
       false AS from_previous, CAST(NULL AS BIGINT) AS days_from_previous
FROM fn_client
UNION ALL
SELECT period_start, period_end, client_pid, 2,
       registered IS NOT NULL, trial_booked - registered
FROM fn_client WHERE trial_booked IS NOT NULL
UNION ALL
SELECT period_start, period_end, client_pid, 3,
       trial_booked IS NOT NULL, first_visit - trial_booked
FROM fn_client WHERE first_visit IS NOT NULL
UNION ALL
SELECT period_start, period_end, client_pid, 4,
       first_visit IS NOT NULL, first_membership - first_visit
FROM fn_client WHERE first_membership IS NOT NULL
UNION ALL
SELECT period_start, period_end, client_pid, 5,
       first_membership IS NOT NULL, archived - first_membership
FROM fn_client WHERE archived IS NOT NULL;

-- Steps counted per period (`per_period`) and over all the periods together (`total`: the
-- clients registered in any of them; period_start/period_end span the periods).
CREATE TABLE fn_counted AS
WITH
scoped AS (
    SELECT s.*, sc.branch
    FROM fn_step s
    JOIN (
        SELECT client_pid, coalesce(branch, '(none)') AS branch FROM lc_client
        UNION ALL
        SELECT client_pid, '(all)' FROM lc_client
    ) sc ON sc.client_pid = s.client_pid
),
grouped AS (
    SELECT false AS is_total, period_start, period_end, branch, client_pid, step_no,
           from_previous, days_from_previous
    FROM scoped
    UNION ALL
    SELECT true, (SELECT min(period_start) FROM period), (SELECT max(period_end) FROM period),
           branch, client_pid, step_no, from_previous, days_from_previous
    FROM scoped
),
steps AS (
    SELECT * FROM (VALUES
        (1, 'registered'), (2, 'trial_booked'), (3, 'first_visit'),
        (4, 'first_membership'), (5, 'archived')
    ) AS t(step_no, step)
),
grid AS (
    -- every step of every period and scope that registered someone, reached or not
    SELECT DISTINCT s.is_total, s.period_start, s.period_end, s.branch, st.step_no, st.step
    FROM grouped s
    CROSS JOIN steps st
    WHERE s.step_no = 1
),
counted AS (
    SELECT g.is_total, g.period_start, g.period_end, g.branch, g.step_no, g.step,
           count(s.client_pid) AS clients,
           sum(CASE WHEN s.from_previous THEN 1 ELSE 0 END) AS converted,
           median(s.days_from_previous) AS median_days_from_previous
    FROM grid g
    LEFT JOIN grouped s
      ON s.is_total = g.is_total AND s.period_start = g.period_start
     AND s.branch = g.branch AND s.step_no = g.step_no
    GROUP BY g.is_total, g.period_start, g.period_end, g.branch, g.step_no, g.step
),
with_previous AS (
    SELECT *,
           lag(clients) OVER (
               PARTITION BY is_total, period_start, branch ORDER BY step_no
           ) AS previous_clients
    FROM counted
)
SELECT
    is_total,
    period_start,
    period_end,
    branch,
    step_no,
    step,
    clients,
    CAST(converted AS DOUBLE) / nullif(previous_clients, 0) AS conversion,
    previous_clients - converted AS loss,
    median_days_from_previous
FROM with_previous;

-- @output funnel
SELECT period_start, period_end, branch, step_no, step, clients, conversion, loss,
       median_days_from_previous
FROM fn_counted
WHERE NOT is_total
-- (`branch || ''`: see segmentation.sql)
ORDER BY period_start, branch <> '(all)', branch || '', step_no;

-- The same steps for every client registered in any of the periods.
-- @output total
SELECT period_start, period_end, branch, step_no, step, clients, conversion, loss,
       median_days_from_previous
FROM fn_counted
WHERE is_total
ORDER BY branch <> '(all)', branch || '', step_no;
