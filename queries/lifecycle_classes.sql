-- The lifecycle stage of every client at every evaluation date, profile `classes` (a school
-- of group classes, SPEC §6). Used instead of lifecycle.sql by the profiles/classes.toml
-- `[queries]` table; it gives `lc_stage` the same columns, so segmentation, segments, list
-- and the metrics read it unchanged.
--
-- Such a school's CRM moves a client along Lead → New → Active → Archived by itself, from
-- events, without anyone setting a status. The rules, at each date d (first match wins):
--
-- 1. `active`: a visit (an attended class) in the last $inactive_days days.
-- 2. `archived`: archived_on <= d; or the client attended before but not in the last
--    $inactive_days days (the CRM archives students who stopped coming); or a trial was booked
--    more than $trial_days days before d and the client never came.
-- 3. `new`: a trial booked on or before d (within $trial_days days), not attended yet.
-- 4. `lead`: any other client (registered, no trial booked, never attended).
--
-- The base at d is every client registered on or before d (or with no registration date);
-- archived clients stay in it, as a stage of their own. `active` and the flag `at_risk` (V56 >= 4
-- and 4*V28 < V56: attendance dropping) count visits as visits_at.sql does for lifecycle.sql;
-- `starter_completed` does not apply (empty). The membership columns show the current
-- subscription (current.sql, SPEC §5.0); `has_current` is whether there is one.
--
-- @requires clients: stages are given to the clients of the bundle
-- @requires visits: a student is active while attending classes
-- @optional memberships: the subscription columns are empty
-- @include current.sql
-- @include visits_at.sql
-- @include no_starter.sql

-- Per date: the clients who had attended a class on or before d.
CREATE VIEW lc_attended AS
SELECT e.d, v.cid
FROM eval_dates e
JOIN (SELECT cid, min(day) AS first_day FROM lc_visit_day GROUP BY cid) v
  ON v.first_day <= e.d;

CREATE VIEW lc_stage AS
SELECT
    e.d,
    c.client_pid,
    c.branch,
    CASE
        -- 1. attended in the last $inactive_days days
        WHEN coalesce(va.recent_visits, 0) > 0 THEN 'active'
        -- 2. archived by the CRM, or stopped coming, or never came after a trial booking
        WHEN c.archived_on <= e.d THEN 'archived'
        WHEN a.cid IS NOT NULL THEN 'archived'
        WHEN c.trial_booked_on <= e.d AND e.d - c.trial_booked_on > $trial_days::BIGINT
            THEN 'archived'
        -- 3. a trial booked, not attended yet
        WHEN c.trial_booked_on <= e.d THEN 'new'
        -- 4. anyone else
        ELSE 'lead'
    END AS stage,
    s.client_pid IS NOT NULL AS has_current,
    CAST(NULL AS BOOLEAN) AS starter_completed,
    -- (known at D only: see visits_at.sql)
    CASE WHEN e.d = $as_of::DATE THEN coalesce(va.at_risk, false) END AS at_risk,
    s.membership_pid,
    s.start_date AS membership_start,
    s.effective_end AS membership_effective_end
FROM eval_dates e
CROSS JOIN lc_client c
LEFT JOIN lc_visits_at va ON va.d = e.d AND va.cid = c.cid
LEFT JOIN lc_attended a ON a.d = e.d AND a.cid = c.cid
LEFT JOIN lc_current s ON s.d = e.d AND s.client_pid = c.client_pid
WHERE c.registered_on IS NULL OR c.registered_on <= e.d;

