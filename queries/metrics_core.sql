-- The §5.2 period metrics, computed once into tables (mt_metrics, mt_starter_delivery).
-- Not an analysis: included by metrics.sql (which shows them) and targets.sql (which compares
-- them with targets). The including file's @requires/@optional hold; see metrics.sql.
--
-- One row per complete period of $grain (the last $periods ending on or before D) and scope:
-- `(all)` and each branch. Metrics go by the client's branch (clients table), except
-- renewal_rate, which goes by the membership's branch. A rate whose denominator is 0 is empty.
-- Facts are taken as known at D: a renewal counts when it was bought by D.
-- @requires clients: every metric counts clients of the clients table
-- @requires memberships: renewal, churn, stages and starter figures are defined by memberships
-- @requires visits: stages, reactivation and visits_per_member_week count visits
-- @optional services: starter_completion_rate and starter_delivery are empty
-- @optional sales: revenue, revenue_per_visit and starter_to_pt_conversion are empty
-- @optional feedback: nps is empty

-- @include periods.sql
-- Stages are wanted on the first and the last day of every period (reactivation, churn,
-- shares), and at D (starter_completed of the period's new members).
CREATE VIEW eval_dates AS
SELECT period_start AS d FROM period
UNION
SELECT period_end FROM period
UNION
SELECT $as_of::DATE;

-- @include lifecycle.sql
-- The stages the metrics read: those of clients with a current membership (churn,
-- reactivation, shares) and every stage at D (starter_completed of new members); with the
-- client's cid (see base.sql), found by client_pid, the key every profile's lc_stage has.
CREATE TABLE mt_stage AS
SELECT s.*, i.cid
FROM lc_id i
JOIN lc_stage s ON s.client_pid = i.client_pid
WHERE s.has_current OR s.d = $as_of::DATE;

-- Every client counts in its branch and in `(all)`.
CREATE TABLE mt_client_scope AS
SELECT client_pid, cid, coalesce(branch, '(none)') AS branch FROM lc_client
UNION ALL
SELECT client_pid, cid, '(all)' AS branch FROM lc_client;

-- Memberships with a renewal: another non-cancelled membership of the same client that starts
-- after this one's start and at most $renewal_grace_days days after its effective end (one
-- bought in advance counts), bought by D.
CREATE TABLE mt_renewed AS
SELECT DISTINCT m.membership_pid
FROM lc_membership m
JOIN lc_membership n ON n.cid = m.cid
WHERE n.start_date > m.start_date
  AND n.start_date - m.effective_end <= $renewal_grace_days::BIGINT
  AND n.bought_on <= $as_of::DATE;

-- Clients whose first membership started in the period, with starter_completed at D and
-- whether they bought personal training within $pt_conversion_days days of that start.
CREATE TABLE mt_new_member AS
SELECT
    p.period_start,
    f.client_pid,
    f.cid,
    now.starter_completed,
    pt.cid IS NOT NULL AS bought_pt
FROM period p
JOIN lc_first f ON f.first_start BETWEEN p.period_start AND p.period_end
LEFT JOIN mt_stage now ON now.d = $as_of::DATE AND now.cid = f.cid
LEFT JOIN (
    SELECT DISTINCT f2.cid
    FROM lc_first f2
    JOIN lc_sale s ON s.cid = f2.cid
    WHERE s.category = 'personal_training'
      AND abs(s.day - f2.first_start) <= $pt_conversion_days::BIGINT
      AND s.day <= $as_of::DATE
) pt ON pt.cid = f.cid;

-- Per period and client: visits in the period, whether a member during it (a non-cancelled
-- membership overlapping the period), and revenue. (One aggregation over the three kinds of
-- rows, rather than three aggregations joined.)
CREATE TABLE mt_activity AS
SELECT
    period_start,
    cid,
    sum(visits) AS visits,
    bool_or(is_member) AS is_member,
    sum(revenue) AS revenue
FROM (
    SELECT pd.period_start, v.cid, 1 AS visits, false AS is_member,
           CAST(0 AS DECIMAL(18, 2)) AS revenue
    FROM period_day pd
    JOIN lc_visit v ON v.day = pd.day
    -- (implied by the join; on the timestamp, so that only the visits of the periods are
    -- dated and matched to their client)
    WHERE v.visited_at >= CAST((SELECT min(period_start) FROM period) AS TIMESTAMP)
      AND v.visited_at < CAST((SELECT max(period_end) FROM period) + 1 AS TIMESTAMP)
    UNION ALL
    SELECT p.period_start, m.cid, 0, true, CAST(0 AS DECIMAL(18, 2))
    FROM period p
    JOIN lc_membership m ON m.start_date <= p.period_end AND m.effective_end >= p.period_start
    UNION ALL
    SELECT pd.period_start, s.cid, 0, false, s.amount
    FROM period_day pd
    JOIN lc_sale s ON s.day = pd.day
) rows
GROUP BY period_start, cid;

-- Every metric per period and scope (wide: one column per metric).
CREATE TABLE mt_metrics AS
WITH
has AS (
    SELECT
        (SELECT count(*) FROM sales) > 0 AS sales,
        (SELECT count(*) FROM lc_starter_offer) > 0 AS starter
),
scope AS (
    SELECT DISTINCT branch FROM mt_client_scope
    UNION
    SELECT DISTINCT coalesce(branch, '(none)') FROM lc_membership
),
grid AS (
    SELECT p.period_start, p.period_end, s.branch
    FROM period p
    CROSS JOIN scope s
),
-- renewal_rate: memberships whose effective end falls in the period, by membership branch
renewal AS (
    SELECT p.period_start, b.branch, count(*) AS ending,
           sum(CASE WHEN r.membership_pid IS NOT NULL THEN 1 ELSE 0 END) AS renewed
    FROM period p
    JOIN lc_membership m ON m.effective_end BETWEEN p.period_start AND p.period_end
    JOIN (
        SELECT membership_pid, coalesce(branch, '(none)') AS branch FROM lc_membership
        UNION ALL
        SELECT membership_pid, '(all)' FROM lc_membership
    ) b ON b.membership_pid = m.membership_pid
    LEFT JOIN mt_renewed r ON r.membership_pid = m.membership_pid
    GROUP BY p.period_start, b.branch
),
-- churn_rate: current membership at the start, none at the end, and the membership current
-- at the start not renewed within the grace
churn AS (
    SELECT p.period_start, sc.branch, count(*) AS members_at_start,
           sum(CASE WHEN NOT coalesce(e.has_current, false) AND r.membership_pid IS NULL
                    THEN 1 ELSE 0 END) AS churned
    FROM period p
    JOIN mt_stage s ON s.d = p.period_start AND s.has_current
    LEFT JOIN mt_stage e ON e.d = p.period_end AND e.cid = s.cid
    LEFT JOIN mt_renewed r ON r.membership_pid = s.membership_pid
    JOIN mt_client_scope sc ON sc.cid = s.cid
    GROUP BY p.period_start, sc.branch
),
-- new members of the period: starter completion and PT conversion
newcomers AS (
    SELECT n.period_start, sc.branch, count(*) AS new_clients,
           avg(CASE WHEN n.starter_completed THEN 1.0
                    WHEN NOT n.starter_completed THEN 0.0 END) AS starter_completion_rate,
           avg(CASE WHEN n.bought_pt THEN 1.0 ELSE 0.0 END) AS starter_to_pt_conversion
    FROM mt_new_member n
    JOIN mt_client_scope sc ON sc.cid = n.cid
    GROUP BY n.period_start, sc.branch
),
-- reactivation_rate: `inactive` on the period's first day, a visit in the period
reactivation AS (
    SELECT p.period_start, sc.branch, count(*) AS inactive_at_start,
           sum(CASE WHEN a.visits > 0 THEN 1 ELSE 0 END) AS reactivated
    FROM period p
    JOIN mt_stage s ON s.d = p.period_start AND s.stage = 'inactive'
    LEFT JOIN mt_activity a ON a.period_start = p.period_start AND a.cid = s.cid
    JOIN mt_client_scope sc ON sc.cid = s.cid
    GROUP BY p.period_start, sc.branch
),
-- active_share / inactive_share: stages at the period's end among clients with a current
-- membership
shares AS (
    SELECT p.period_start, sc.branch, count(*) AS members_at_end,
           sum(CASE WHEN s.stage = 'active' THEN 1 ELSE 0 END) AS active,
           sum(CASE WHEN s.stage = 'inactive' THEN 1 ELSE 0 END) AS inactive
    FROM period p
    JOIN mt_stage s ON s.d = p.period_end AND s.has_current
    JOIN mt_client_scope sc ON sc.cid = s.cid
    GROUP BY p.period_start, sc.branch
),
-- visits, members (a membership overlapping the period), revenue
activity AS (
    SELECT a.period_start, sc.branch,
           sum(a.visits) AS visits,
           sum(CASE WHEN a.is_member THEN a.visits ELSE 0 END) AS member_visits,
           sum(CASE WHEN a.is_member THEN 1 ELSE 0 END) AS members,
           sum(a.revenue) AS revenue
    FROM mt_activity a
    JOIN mt_client_scope sc ON sc.cid = a.cid
    GROUP BY a.period_start, sc.branch
),
-- leads: clients registered in the period
leads AS (
    SELECT p.period_start, sc.branch, count(*) AS leads
    FROM period p
    JOIN lc_client c ON c.registered_on BETWEEN p.period_start AND p.period_end
    JOIN mt_client_scope sc ON sc.cid = c.cid
    GROUP BY p.period_start, sc.branch
),
-- nps: answers of the period
nps AS (
    SELECT p.period_start, sc.branch,
           100.0 * (sum(CASE WHEN f.score >= 9 THEN 1 ELSE 0 END)
                    - sum(CASE WHEN f.score <= 6 THEN 1 ELSE 0 END)) / count(*) AS nps
    FROM period p
    JOIN feedback f ON f.answered_on BETWEEN p.period_start AND p.period_end
    JOIN mt_client_scope sc ON sc.client_pid = f.client_pid
    WHERE f.score BETWEEN 0 AND 10
    GROUP BY p.period_start, sc.branch
),
joined AS (
    SELECT
        g.period_start,
        g.period_end,
        g.branch,
        CAST(r.renewed AS DOUBLE) / nullif(r.ending, 0) AS renewal_rate,
        CAST(c.churned AS DOUBLE) / nullif(c.members_at_start, 0) AS churn_rate,
        CASE WHEN has.starter THEN n.starter_completion_rate END AS starter_completion_rate,
        CASE WHEN has.sales THEN n.starter_to_pt_conversion END AS starter_to_pt_conversion,
        CAST(ra.reactivated AS DOUBLE) / nullif(ra.inactive_at_start, 0) AS reactivation_rate,
        CAST(sh.active AS DOUBLE) / nullif(sh.members_at_end, 0) AS active_share,
        CAST(sh.inactive AS DOUBLE) / nullif(sh.members_at_end, 0) AS inactive_share,
        CAST(a.member_visits AS DOUBLE) / nullif(a.members, 0)
            / ((g.period_end - g.period_start + 1) / 7.0) AS visits_per_member_week,
        CASE WHEN has.sales THEN coalesce(a.revenue, 0) END AS revenue,
        CASE WHEN has.sales THEN CAST(coalesce(a.revenue, 0) AS DOUBLE) / nullif(a.visits, 0)
        END AS revenue_per_visit,
        coalesce(n.new_clients, 0) AS new_clients,
        coalesce(l.leads, 0) AS leads,
        nps.nps
    FROM grid g
    CROSS JOIN has
    LEFT JOIN renewal r ON r.period_start = g.period_start AND r.branch = g.branch
    LEFT JOIN churn c ON c.period_start = g.period_start AND c.branch = g.branch
    LEFT JOIN newcomers n ON n.period_start = g.period_start AND n.branch = g.branch
    LEFT JOIN reactivation ra ON ra.period_start = g.period_start AND ra.branch = g.branch
    LEFT JOIN shares sh ON sh.period_start = g.period_start AND sh.branch = g.branch
    LEFT JOIN activity a ON a.period_start = g.period_start AND a.branch = g.branch
    LEFT JOIN leads l ON l.period_start = g.period_start AND l.branch = g.branch
    LEFT JOIN nps ON nps.period_start = g.period_start AND nps.branch = g.branch
)
SELECT * FROM joined;

-- starter_delivery_by_department: for the clients whose first membership started in the
-- period, starter services done in their starter window (by D) / starter services due (every
-- offered service, once per client), per department of the service; `(all)` sums them.
CREATE TABLE mt_starter_delivery AS
WITH
offer AS (
    SELECT service, coalesce(department, '(none)') AS department FROM lc_starter_offer
    UNION ALL
    SELECT service, '(all)' FROM lc_starter_offer
),
due AS (
    SELECT n.period_start, o.department, count(*) AS due
    FROM mt_new_member n
    CROSS JOIN offer o
    GROUP BY n.period_start, o.department
),
done AS (
    SELECT n.period_start, o.department, count(*) AS done
    FROM mt_new_member n
    JOIN lc_starter_window w ON w.client_pid = n.client_pid AND w.day <= $as_of::DATE
    JOIN offer o ON o.service = w.service
    GROUP BY n.period_start, o.department
),
joined AS (
    SELECT
        p.period_start,
        p.period_end,
        due.department,
        due.due,
        coalesce(done.done, 0) AS done,
        CAST(coalesce(done.done, 0) AS DOUBLE) / due.due AS delivery_rate
    FROM period p
    JOIN due ON due.period_start = p.period_start
    LEFT JOIN done ON done.period_start = due.period_start AND done.department = due.department
)
SELECT * FROM joined;
