-- @title Funnel of the clients registered in each period: registered → trial booked → first visit → first membership, each step within the previous one; archived beside it as an outcome (SPEC §5.3)
-- @requires clients: the funnel follows the clients registered in each period
-- @requires memberships: the `first_membership` step
-- @requires visits: the `first_visit` step
--
-- For the clients registered in each complete period of $grain (the last $periods ending on or
-- before D), per branch and `(all)`. A client *reaches* a step when its date is known and on or
-- before D (the trial booking of the clients table, the first visit, the first membership's
-- start, SPEC §5.0); the dates need not be in step order. The steps are nested sets: a step
-- counts the clients who reached it and every step before it, so each bar is within the one
-- above it.
--   clients              the clients who reached this step and every previous one;
--   conversion           clients / the previous step's clients (denominator: the previous step);
--   share_of_registered  clients / the registered clients (denominator: the first step);
--   loss                 the previous step's clients less this step's;
--   median_days_from_previous  the median days from the previous step's date to this step's,
--                        among this step's clients (negative when the CRM dated them so);
--   reached              the clients who reached this step whatever the previous ones (a club
--                        may not record every trial: first visits without a booking count here
--                        only).
-- Outcomes (`outcomes`): `archived` — the clients archived on or before D (archived_on, the
-- CRM's own decision, not a step of the funnel), their share of the registered, and how many
-- of them never started a membership by D (archived leads).

-- @include periods.sql
-- @include base.sql
-- One row per client registered in a period, with the date of each step reached by D (empty
-- if not reached), whatever the other steps.
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

-- The steps, one row per client and step reached: whether the client reached every previous
-- step too (`nested`), and the days from the previous step.
CREATE VIEW fn_step AS
SELECT period_start, period_end, client_pid, 1 AS step_no,
       true AS nested, CAST(NULL AS BIGINT) AS days_from_previous
FROM fn_client
UNION ALL
SELECT period_start, period_end, client_pid, 2,
       true, trial_booked - registered
FROM fn_client WHERE trial_booked IS NOT NULL
UNION ALL
SELECT period_start, period_end, client_pid, 3,
       trial_booked IS NOT NULL, first_visit - trial_booked
FROM fn_client WHERE first_visit IS NOT NULL
UNION ALL
SELECT period_start, period_end, client_pid, 4,
       trial_booked IS NOT NULL AND first_visit IS NOT NULL, first_membership - first_visit
FROM fn_client WHERE first_membership IS NOT NULL;

-- Each client in its branch and in `(all)`.
CREATE VIEW fn_scope AS
SELECT client_pid, coalesce(branch, '(none)') AS branch FROM lc_client
UNION ALL
SELECT client_pid, '(all)' FROM lc_client;

-- Steps counted per period (not `is_total`) and over all the periods together (`is_total`:
-- the clients registered in any of them; period_start/period_end span the periods).
CREATE TABLE fn_counted AS
WITH
scoped AS (
    SELECT s.*, sc.branch
    FROM fn_step s
    JOIN fn_scope sc ON sc.client_pid = s.client_pid
),
grouped AS (
    SELECT false AS is_total, period_start, period_end, branch, client_pid, step_no,
           nested, days_from_previous
    FROM scoped
    UNION ALL
    SELECT true, (SELECT min(period_start) FROM period), (SELECT max(period_end) FROM period),
           branch, client_pid, step_no, nested, days_from_previous
    FROM scoped
),
steps AS (
    SELECT * FROM (VALUES
        (1, 'registered'), (2, 'trial_booked'), (3, 'first_visit'), (4, 'first_membership')
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
           coalesce(sum(CASE WHEN s.nested THEN 1 ELSE 0 END), 0) AS clients,
           count(s.client_pid) AS reached,
           median(CASE WHEN s.nested THEN s.days_from_previous END) AS median_days_from_previous
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
           ) AS previous_clients,
           first_value(clients) OVER (
               PARTITION BY is_total, period_start, branch ORDER BY step_no
           ) AS registered_clients
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
    CAST(clients AS DOUBLE) / nullif(previous_clients, 0) AS conversion,
    CAST(clients AS DOUBLE) / nullif(registered_clients, 0) AS share_of_registered,
    previous_clients - clients AS loss,
    median_days_from_previous,
    reached
FROM with_previous;

-- @output funnel
SELECT period_start, period_end, branch, step_no, step, clients, conversion,
       share_of_registered, loss, median_days_from_previous, reached
FROM fn_counted
WHERE NOT is_total
-- (`branch || ''`: see segmentation.sql)
ORDER BY period_start, branch <> '(all)', branch || '', step_no;

-- The same steps for every client registered in any of the periods.
-- @output total
SELECT period_start, period_end, branch, step_no, step, clients, conversion,
       share_of_registered, loss, median_days_from_previous, reached
FROM fn_counted
WHERE is_total
ORDER BY branch <> '(all)', branch || '', step_no;

-- The outcome beside the funnel, per period (`total` false) and over all the periods (`total`
-- true, the periods spanned as in `total`): archived clients of the registered.
-- @output outcomes
WITH
per_client AS (
    SELECT false AS total, c.period_start, c.period_end, sc.branch, c.client_pid,
           c.archived, c.first_membership
    FROM fn_client c
    JOIN fn_scope sc ON sc.client_pid = c.client_pid
),
grouped AS (
    SELECT * FROM per_client
    UNION ALL
    SELECT true, (SELECT min(period_start) FROM period), (SELECT max(period_end) FROM period),
           branch, client_pid, archived, first_membership
    FROM per_client
)
SELECT
    total,
    period_start,
    period_end,
    branch,
    'archived' AS outcome,
    sum(CASE WHEN archived IS NOT NULL THEN 1 ELSE 0 END) AS clients,
    CAST(sum(CASE WHEN archived IS NOT NULL THEN 1 ELSE 0 END) AS DOUBLE) / count(*)
        AS share_of_registered,
    sum(CASE WHEN archived IS NOT NULL AND first_membership IS NULL THEN 1 ELSE 0 END)
        AS without_membership
FROM grouped
GROUP BY total, period_start, period_end, branch
ORDER BY total, period_start, branch <> '(all)', branch || '';
