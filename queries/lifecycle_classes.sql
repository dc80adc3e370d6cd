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
-- archived clients stay in it, as a stage of their own. Flags: `at_risk` as in §5.1 (V56 >= 4
-- and 4*V28 < V56: attendance dropping); `starter_completed` does not apply (empty). The
-- membership columns show the current subscription, if any (latest start; ties: latest
-- effective end, then greatest id); `has_current` is whether there is one.
--
-- @requires clients: stages are given to the clients of the bundle
-- @requires visits: a student is active while attending classes
-- @optional memberships: the subscription columns are empty
-- @include current.sql

-- Per date and client: the attendance up to d — the last day attended, visits in the last
-- $inactive_days days, and V28 / V56 for `at_risk`.
CREATE VIEW lc_attendance AS
SELECT
    e.d,
    v.client_pid,
    max(v.day) AS last_visit,
    sum(CASE WHEN e.d - v.day <= $inactive_days::BIGINT - 1 THEN v.visits ELSE 0 END) AS recent_visits,
    sum(CASE WHEN e.d - v.day <= 27 THEN v.visits ELSE 0 END) AS v28,
    sum(CASE WHEN e.d - v.day BETWEEN 28 AND 83 THEN v.visits ELSE 0 END) AS v56
FROM eval_dates e
JOIN lc_visit_day v ON v.day <= e.d
GROUP BY e.d, v.client_pid;

CREATE VIEW lc_stage AS
SELECT
    e.d,
    c.client_pid,
    c.branch,
    CASE
        -- 1. attended in the last $inactive_days days
        WHEN coalesce(a.recent_visits, 0) > 0 THEN 'active'
        -- 2. archived by the CRM, or stopped coming, or never came after a trial booking
        WHEN c.archived_on <= e.d THEN 'archived'
        WHEN a.client_pid IS NOT NULL THEN 'archived'
        WHEN c.trial_booked_on <= e.d AND e.d - c.trial_booked_on > $trial_days::BIGINT
            THEN 'archived'
        -- 3. a trial booked, not attended yet
        WHEN c.trial_booked_on <= e.d THEN 'new'
        -- 4. anyone else
        ELSE 'lead'
    END AS stage,
    s.client_pid IS NOT NULL AS has_current,
    CAST(NULL AS BOOLEAN) AS starter_completed,
    coalesce(a.v56, 0) >= 4 AND 4 * coalesce(a.v28, 0) < coalesce(a.v56, 0) AS at_risk,
    s.membership_pid,
    s.start_date AS membership_start,
    s.effective_end AS membership_effective_end
FROM eval_dates e
CROSS JOIN lc_client c
LEFT JOIN lc_attendance a ON a.d = e.d AND a.client_pid = c.client_pid
LEFT JOIN lc_current s ON s.d = e.d AND s.client_pid = c.client_pid
WHERE c.registered_on IS NULL OR c.registered_on <= e.d;

