-- The lifecycle stage of every client at D, and of the clients with a current membership at
-- the other evaluation dates (SPEC §5.1). Not an analysis: included by the analyses that need
-- stages.
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
-- @include current.sql
-- @include visits_at.sql

-- The starter services the club offers: the profile's list ($starter_services), or when it is
-- empty every distinct service of category `starter` in the data; each with the department
-- that delivers it (the first by name if the data names several). (A table: a few rows, read
-- by several rules, each of which would otherwise scan the services again.)
CREATE TABLE lc_starter_offer AS
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
-- (the few offered services first: they are what the join looks up)
CREATE VIEW lc_starter_done AS
SELECT i.client_pid, i.cid, s.service, CAST(s.done_at AS DATE) AS day
FROM lc_starter_offer o
JOIN services s ON s.service = o.service
JOIN lc_id i ON i.client_pid = s.client_pid
WHERE coalesce(s.status, 'done') = 'done'
  AND s.done_at IS NOT NULL;

-- Offered starter services each client had done within [S, S + $starter_days], S being the
-- start of the client's first membership: one row per client and service, with the first
-- day it was done in that window (starter_completed, starter delivery). (A table: the stages
-- and the metrics' starter delivery both read it.)
CREATE TABLE lc_starter_window AS
SELECT s.client_pid, s.cid, s.service, min(s.day) AS day
FROM lc_starter_done s
JOIN lc_first f ON f.cid = s.cid
WHERE s.day >= f.first_start
  AND s.day - f.first_start <= $starter_days::BIGINT
GROUP BY s.client_pid, s.cid, s.service;

-- Days on which a known client had a personal-training service done.
CREATE VIEW lc_pt_day AS
SELECT DISTINCT i.cid, CAST(s.done_at AS DATE) AS day
FROM services s
JOIN lc_id i ON i.client_pid = s.client_pid
WHERE s.category = 'personal_training'
  AND coalesce(s.status, 'done') = 'done'
  AND s.done_at IS NOT NULL;

-- Per date: clients with a personal-training service done in the last $pt_days days (rule 6),
-- joined on the days looked back on (an equality, as in visits_at.sql).
CREATE VIEW lc_pt_at AS
SELECT DISTINCT e.d, p.cid
FROM eval_dates e
CROSS JOIN (SELECT unnest(range($pt_days::BIGINT)) AS back) b
JOIN lc_pt_day p ON p.day = e.d - CAST(b.back AS INTEGER);

-- Per client: the day on which the client had done, within the starter window, as many
-- distinct offered starter services as the club offers (lc_starter_window holds one row per
-- client and offered service: that is the day the last of them was done). starter_completed
-- holds at d when that day is on or before d.
CREATE VIEW lc_starter_completed_on AS
SELECT cid, max(day) AS completed_on
FROM lc_starter_window
GROUP BY cid
HAVING count(*) >= (SELECT count(*) FROM lc_starter_offer);

-- The stage and flags of the clients of the base at the evaluation dates: at D every client
-- of the base; at the other dates (the metrics' period boundaries) the clients with a current
-- membership there, all that is read at those dates (a client without one is `lapsed`,
-- `former` or `lead` by the rules below; leaving them out spares a dates x clients grid).
-- The base at d: registered on or before d (or with no registration date), less archived
-- leads (archived_on <= d and no membership started by d).
CREATE VIEW lc_stage AS
WITH dates AS (
    -- (the number of starter services offered rides along with the few dates, not the
    -- many clients: a cross join with a one-row table on the large side is slow)
    SELECT d, (SELECT count(*) FROM lc_starter_offer) AS offered
    FROM eval_dates
),
-- the clients wanted at each date, with what memberships say about them there
wanted AS (
    SELECT e.d, e.offered, c.cid, c.registered_on, c.archived_on,
           h.last_effective_end, h.any_frozen, h.latest_sold_start, h.current_mno
    FROM dates e
    CROSS JOIN lc_client c
    LEFT JOIN lc_membership_at h ON h.d = e.d AND h.cid = c.cid
    WHERE e.d = $as_of::DATE
    UNION ALL
    SELECT e.d, e.offered, c.cid, c.registered_on, c.archived_on,
           h.last_effective_end, h.any_frozen, h.latest_sold_start, h.current_mno
    FROM dates e
    JOIN lc_membership_at h ON h.d = e.d
    JOIN lc_client c ON c.cid = h.cid
    WHERE e.d <> $as_of::DATE AND h.current_mno IS NOT NULL
),
-- per date and wanted client, every fact the rules below read (keyed by cid)
facts AS (
    SELECT
        w.d,
        w.offered,
        w.cid,
        w.last_effective_end IS NOT NULL AS started,
        w.last_effective_end,
        w.any_frozen,
        w.latest_sold_start,
        cur.membership_pid,
        cur.start_date,
        cur.effective_end,
        cur.is_first,
        cur.cid IS NOT NULL AS has_current,
        va.recent_visits,
        va.at_risk,
        pt.cid IS NOT NULL AS pt_recent,
        st.completed_on <= w.d AS starter_completed
    FROM wanted w
    LEFT JOIN lc_membership cur ON cur.cid = w.cid AND cur.mno = w.current_mno
    LEFT JOIN lc_visits_at va ON va.d = w.d AND va.cid = w.cid
    LEFT JOIN lc_pt_at pt ON pt.d = w.d AND pt.cid = w.cid
    LEFT JOIN lc_starter_completed_on st ON st.cid = w.cid
    WHERE (w.registered_on IS NULL OR w.registered_on <= w.d)
      AND NOT (coalesce(w.archived_on <= w.d, false) AND w.last_effective_end IS NULL)
)
SELECT
    f.d,
    c.client_pid,
    c.branch,
    CASE
        -- 1. a current membership is frozen
        WHEN f.any_frozen THEN 'frozen'
        -- 2. the current membership is the first, started within $onboarding_days before d
        WHEN f.is_first AND f.d - f.start_date <= $onboarding_days::BIGINT THEN 'newcomer'
        -- 3. the current membership is not the first, started within $onboarding_days before d
        WHEN NOT f.is_first AND f.d - f.start_date <= $onboarding_days::BIGINT THEN 'renewed'
        -- 4. the current membership ends 0..$renewal_window_days days after d, and no renewal
        --    (a membership starting after the current one's start) was sold by d
        WHEN f.effective_end - f.d <= $renewal_window_days::BIGINT
             AND NOT coalesce(f.latest_sold_start > f.start_date, false)
            THEN 'renewal_due'
        -- 5. current membership, no visit in the last $inactive_days days
        WHEN f.has_current AND coalesce(f.recent_visits, 0) = 0 THEN 'inactive'
        -- 6. current membership, personal training done in the last $pt_days days
        WHEN f.has_current AND f.pt_recent THEN 'pt_engaged'
        -- 7. any other client with a current membership
        WHEN f.has_current THEN 'active'
        -- 8. no current membership; the latest effective end is within $lapsed_days before d
        WHEN f.started AND f.d - f.last_effective_end <= $lapsed_days::BIGINT THEN 'lapsed'
        -- 9. no current membership; the last one ended earlier
        WHEN f.started THEN 'former'
        -- 10. no non-cancelled membership started by d
        ELSE 'lead'
    END AS stage,
    f.has_current,
    -- starter_completed: at least as many distinct starter services done in the starter
    -- window as the club offers; unknown when the club offers none (no data)
    CASE
        WHEN f.offered = 0 THEN NULL
        ELSE coalesce(f.starter_completed, false)
    END AS starter_completed,
    -- at_risk: see visits_at.sql (known at D only)
    CASE WHEN f.d = $as_of::DATE THEN coalesce(f.at_risk, false) END AS at_risk,
    f.membership_pid,
    f.start_date AS membership_start,
    f.effective_end AS membership_effective_end
-- (the client's pid and branch are looked up last, by cid: the joins above carry integers)
FROM lc_client c
JOIN facts f ON f.cid = c.cid;
