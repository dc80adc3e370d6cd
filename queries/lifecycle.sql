-- The lifecycle stage of every client at every evaluation date (SPEC §5.1). Not an analysis:
-- included by the analyses that need stages.
--
-- The including file first defines `eval_dates(d DATE)`, the dates at which stages are wanted
-- (segmentation: D; metrics: the first and last day of each period, and D). Each rule of §5.1
-- is written once, here. At each d only data up to d is used (visits, services and sales
-- after d do not exist yet; a membership must be started, and a renewal sold, by d), except
-- the membership status, which is the export-time snapshot (SPEC §5.0).
--
-- Day arithmetic: date - date is a number of days. "In the last N days" is 0 <= d - x <= N - 1;
-- "within N days before/after" is a difference of at most N (SPEC §5.0).
--
-- @requires clients: stages are given to the clients of the bundle
-- @requires memberships: stages are defined by memberships (SPEC §5.1)
-- @requires visits: `inactive` and the `at_risk` flag count visits
-- @optional services: no client is `pt_engaged` and `starter_completed` is unknown (empty)
-- @include base.sql

-- The starter services the club offers: the profile's list ($starter_services), or when it is
-- empty every distinct service of category `starter` in the data; each with the department
-- that delivers it (the first by name if the data names several).
CREATE VIEW lc_starter_offer AS
SELECT o.service, d.department
FROM (
    SELECT unnest($starter_services::VARCHAR[]) AS service
    UNION
    SELECT DISTINCT service
    FROM services
    WHERE category = 'starter'
      AND service IS NOT NULL
      AND cardinality($starter_services::VARCHAR[]) = 0
) o
LEFT JOIN (
    SELECT service, min(department) AS department
    FROM services
    WHERE service IS NOT NULL
    GROUP BY service
) d ON d.service = o.service;

-- Offered starter services done by known clients (a missing status counts as done).
CREATE VIEW lc_starter_done AS
SELECT client_pid, service, CAST(done_at AS DATE) AS day
FROM services
WHERE client_pid IN (SELECT client_pid FROM lc_client)
  AND coalesce(status, 'done') = 'done'
  AND done_at IS NOT NULL
  AND service IN (SELECT service FROM lc_starter_offer);

-- Offered starter services each client had done within [S, S + $starter_days], S being the
-- start of the client's first membership: one row per client and service, with the first
-- day it was done in that window (starter_completed, starter delivery).
CREATE VIEW lc_starter_window AS
SELECT s.client_pid, s.service, min(s.day) AS day
FROM lc_starter_done s
JOIN lc_first f ON f.client_pid = s.client_pid
WHERE s.day >= f.first_start
  AND s.day - f.first_start <= $starter_days::BIGINT
GROUP BY s.client_pid, s.service;

-- Days on which a known client had a personal-training service done.
CREATE VIEW lc_pt_day AS
SELECT DISTINCT client_pid, CAST(done_at AS DATE) AS day
FROM services
WHERE client_pid IN (SELECT client_pid FROM lc_client)
  AND category = 'personal_training'
  AND coalesce(status, 'done') = 'done'
  AND done_at IS NOT NULL;

-- Per date and client: the memberships started on or before d (whether any, and the latest
-- effective end among them, for `lapsed` / `former` / `lead` and the base).
CREATE VIEW lc_history AS
SELECT e.d, m.client_pid, max(m.effective_end) AS last_effective_end
FROM eval_dates e
JOIN lc_membership m ON m.start_date <= e.d
GROUP BY e.d, m.client_pid;

-- Per date and client: *the current membership* — among those current at d
-- (start_date <= d <= effective end), the latest start; ties: the latest effective end, then
-- the greatest id — and whether any current membership is frozen (rule 1 looks at all).
CREATE VIEW lc_current AS
SELECT d, client_pid, membership_pid, start_date, effective_end, is_first, any_frozen
FROM (
    SELECT
        e.d,
        m.client_pid,
        m.membership_pid,
        m.start_date,
        m.effective_end,
        m.is_first,
        bool_or(m.is_frozen) OVER (PARTITION BY e.d, m.client_pid) AS any_frozen,
        row_number() OVER (
            PARTITION BY e.d, m.client_pid
            ORDER BY m.start_date DESC, m.effective_end DESC, m.membership_pid DESC
        ) AS pick
    FROM eval_dates e
    JOIN lc_membership m ON m.start_date <= e.d AND e.d <= m.effective_end
) ranked
WHERE pick = 1;

-- Per date and client: a renewal already sold — another non-cancelled membership that starts
-- after the current one's start and was bought on or before d (rule 4).
CREATE VIEW lc_renewal_sold AS
SELECT DISTINCT c.d, c.client_pid
FROM lc_current c
JOIN lc_membership m ON m.client_pid = c.client_pid
WHERE m.start_date > c.start_date
  AND m.bought_on <= c.d;

-- Per date and client: visits in the last $inactive_days days (rule 5), in the last 28 days
-- (V28) and in the 56 days before those (V56, days 28..83 back) for `at_risk`.
CREATE VIEW lc_visits_at AS
SELECT
    e.d,
    v.client_pid,
    sum(CASE WHEN e.d - v.day <= $inactive_days::BIGINT - 1 THEN v.visits ELSE 0 END) AS recent_visits,
    sum(CASE WHEN e.d - v.day <= 27 THEN v.visits ELSE 0 END) AS v28,
    sum(CASE WHEN e.d - v.day BETWEEN 28 AND 83 THEN v.visits ELSE 0 END) AS v56
FROM eval_dates e
JOIN lc_visit_day v
  ON v.day <= e.d
 AND e.d - v.day <= greatest(83, $inactive_days::BIGINT - 1)
GROUP BY e.d, v.client_pid;

-- Per date: clients with a personal-training service done in the last $pt_days days (rule 6).
CREATE VIEW lc_pt_at AS
SELECT DISTINCT e.d, p.client_pid
FROM eval_dates e
JOIN lc_pt_day p ON p.day <= e.d AND e.d - p.day <= $pt_days::BIGINT - 1;

-- Per date and client: distinct offered starter services done in the starter window
-- (lc_starter_window), and done by d.
CREATE VIEW lc_starter_at AS
SELECT e.d, s.client_pid, count(DISTINCT s.service) AS starter_done
FROM eval_dates e
JOIN lc_starter_window s ON s.day <= e.d
GROUP BY e.d, s.client_pid;

-- The stage and flags of every client of the base at every evaluation date.
-- The base at d: registered on or before d (or with no registration date), less archived
-- leads (archived_on <= d and no membership started by d).
CREATE VIEW lc_stage AS
WITH dates AS (
    -- (the number of starter services offered rides along with the few dates, not the
    -- many clients: a cross join with a one-row table on the large side is slow)
    SELECT d, (SELECT count(*) FROM lc_starter_offer) AS offered
    FROM eval_dates
)
SELECT
    e.d,
    c.client_pid,
    c.branch,
    CASE
        -- 1. a current membership is frozen
        WHEN cur.any_frozen THEN 'frozen'
        -- 2. the current membership is the first, started within $onboarding_days before d
        WHEN cur.is_first AND e.d - cur.start_date <= $onboarding_days::BIGINT THEN 'newcomer'
        -- 3. the current membership is not the first, started within $onboarding_days before d
        WHEN NOT cur.is_first AND e.d - cur.start_date <= $onboarding_days::BIGINT THEN 'renewed'
        -- 4. the current membership ends 0..$renewal_window_days days after d, no renewal sold
        WHEN cur.effective_end - e.d <= $renewal_window_days::BIGINT AND rs.client_pid IS NULL
            THEN 'renewal_due'
        -- 5. current membership, no visit in the last $inactive_days days
        WHEN cur.client_pid IS NOT NULL AND coalesce(va.recent_visits, 0) = 0 THEN 'inactive'
        -- 6. current membership, personal training done in the last $pt_days days
        WHEN cur.client_pid IS NOT NULL AND pt.client_pid IS NOT NULL THEN 'pt_engaged'
        -- 7. any other client with a current membership
        WHEN cur.client_pid IS NOT NULL THEN 'active'
        -- 8. no current membership; the latest effective end is within $lapsed_days before d
        WHEN h.client_pid IS NOT NULL AND e.d - h.last_effective_end <= $lapsed_days::BIGINT
            THEN 'lapsed'
        -- 9. no current membership; the last one ended earlier
        WHEN h.client_pid IS NOT NULL THEN 'former'
        -- 10. no non-cancelled membership started by d
        ELSE 'lead'
    END AS stage,
    cur.client_pid IS NOT NULL AS has_current,
    -- starter_completed: at least as many distinct starter services done in the starter
    -- window as the club offers; unknown when the club offers none (no data)
    CASE
        WHEN e.offered = 0 THEN NULL
        ELSE coalesce(st.starter_done, 0) >= e.offered
    END AS starter_completed,
    -- at_risk: V56 >= 4 and the weekly rate V28/4 is below half of V56/8, i.e. 4*V28 < V56
    coalesce(va.v56, 0) >= 4 AND 4 * coalesce(va.v28, 0) < coalesce(va.v56, 0) AS at_risk,
    cur.membership_pid,
    cur.start_date AS membership_start,
    cur.effective_end AS membership_effective_end
FROM dates e
CROSS JOIN lc_client c
LEFT JOIN lc_history h ON h.d = e.d AND h.client_pid = c.client_pid
LEFT JOIN lc_current cur ON cur.d = e.d AND cur.client_pid = c.client_pid
LEFT JOIN lc_renewal_sold rs ON rs.d = e.d AND rs.client_pid = c.client_pid
LEFT JOIN lc_visits_at va ON va.d = e.d AND va.client_pid = c.client_pid
LEFT JOIN lc_pt_at pt ON pt.d = e.d AND pt.client_pid = c.client_pid
LEFT JOIN lc_starter_at st ON st.d = e.d AND st.client_pid = c.client_pid
WHERE (c.registered_on IS NULL OR c.registered_on <= e.d)
  AND NOT (coalesce(c.archived_on <= e.d, false) AND h.client_pid IS NULL);
