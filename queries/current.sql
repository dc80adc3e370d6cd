-- Memberships (a club's cards, a school's subscriptions, a company's contracts) at each
-- evaluation date, by the rules of SPEC §5.0. Not an analysis: included by the lifecycle files
-- (lifecycle.sql and the profiles' lifecycle_*.sql). The including file first defines
-- `eval_dates(d DATE)`.
--
-- @include base.sql

-- Per date and client, what the rules read from memberships, in one pass over the
-- memberships started or bought by d:
-- * last_effective_end: the latest effective end among the memberships started on or before
--   d (`lapsed` / `former`; none: the client is a lead at d);
-- * any_frozen: a membership current at d (start_date <= d <= effective end) is frozen
--   (rule 1 looks at every current one);
-- * current_mno: *the current membership* — among those current at d, the latest start;
--   ties: the latest effective end, then the greatest id; that is the greatest mno;
-- * latest_sold_start: the latest start among the memberships bought on or before d (rule 4:
--   a renewal is sold when one starts after the current one's start).
CREATE VIEW lc_membership_at AS
SELECT
    e.d,
    m.cid,
    max(CASE WHEN m.start_date <= e.d THEN m.effective_end END) AS last_effective_end,
    bool_or(m.start_date <= e.d AND e.d <= m.effective_end AND m.is_frozen) AS any_frozen,
    max(CASE WHEN m.start_date <= e.d AND e.d <= m.effective_end THEN m.mno END) AS current_mno,
    max(CASE WHEN m.bought_on <= e.d THEN m.start_date END) AS latest_sold_start
FROM eval_dates e
JOIN lc_membership m ON m.start_date <= e.d OR m.bought_on <= e.d
GROUP BY e.d, m.cid;

-- The same facts as views by client_pid, for the rules that read them that way:
-- the memberships started by d (their latest effective end) ...
CREATE VIEW lc_history AS
SELECT h.d, i.client_pid, h.last_effective_end
FROM lc_membership_at h
JOIN lc_id i ON i.cid = h.cid
WHERE h.last_effective_end IS NOT NULL;

-- ... *the current membership* (current_mno), whether any current one is frozen ...
CREATE VIEW lc_current AS
SELECT
    h.d,
    m.client_pid,
    m.membership_pid,
    m.start_date,
    m.effective_end,
    m.is_first,
    h.any_frozen
FROM lc_membership_at h
JOIN lc_membership m ON m.cid = h.cid AND m.mno = h.current_mno;

-- ... and a renewal sold: a membership bought by d that starts after the current one's start.
CREATE VIEW lc_renewal_sold AS
SELECT h.d, m.client_pid
FROM lc_membership_at h
JOIN lc_membership m ON m.cid = h.cid AND m.mno = h.current_mno
WHERE h.latest_sold_start > m.start_date;
