-- The cleaned inputs every analysis builds on (SPEC §5.0). Not an analysis: included by them.
--
-- * Rows whose client is empty or not in `clients` are left out of every count.
-- * Cancelled memberships are ignored everywhere; the *effective end* of a membership is
--   end_date + freeze_days.
-- * Event timestamps count by their date.
--
-- The tables below are optional here; each analysis says which ones it really needs.
-- @requires clients: every count is over the clients of the bundle
-- @optional memberships: no client has a membership
-- @optional visits: no client has a visit
-- @optional sales: nothing was sold

-- Clients of the export. `cid` is a small integer standing for the client_pid, numbered once
-- here (a table, so every statement sees the same numbers): the analyses join and group on it
-- rather than on the 32-character pseudonym, which is several times slower to hash and compare.
CREATE TABLE lc_client AS
SELECT
    client_pid,
    dense_rank() OVER (ORDER BY client_pid) AS cid,
    branch,
    registered_on,
    trial_booked_on,
    archived_on
FROM clients
WHERE client_pid IS NOT NULL AND trim(client_pid) <> '';

-- Each known client_pid once, with its cid: the rows of the other tables find their client
-- here (an inner join with it leaves out rows of unknown clients, and counts each row once
-- even if the clients table repeats a pid).
CREATE TABLE lc_id AS
SELECT DISTINCT client_pid, cid FROM lc_client;

-- Non-cancelled memberships of known clients, with their effective end, the date they were
-- bought (sold_on, or the start when the export has no sale date), and whether each is the
-- client's *first*: the earliest by start_date, ties by sold_on, then by id. `mno` numbers the
-- memberships in the order (client, start_date, effective end, id), the order that picks
-- *the current membership* (SPEC §5.0): of several memberships of a client, the latest in
-- that order has the greatest mno. A table: it is small, and every rule reads it.
-- (Windows over the whole table, in client order, rather than PARTITION BY client: one sort,
-- where DataFusion is many times slower over 100,000 small partitions.)
CREATE TABLE lc_membership AS
SELECT
    m.membership_pid,
    m.client_pid,
    m.cid,
    m.branch,
    m.start_date,
    m.effective_end,
    m.is_frozen,
    m.bought_on,
    -- the first row of its client in the order of *first*
    lag(m.cid) OVER (
        ORDER BY m.cid, m.start_date, m.sold_on NULLS LAST, m.membership_pid
    ) IS DISTINCT FROM m.cid AS is_first,
    row_number() OVER (
        ORDER BY m.cid, m.start_date, m.effective_end, m.membership_pid
    ) AS mno
FROM (
    SELECT
        m.membership_pid,
        m.client_pid,
        i.cid,
        m.branch,
        m.start_date,
        m.sold_on,
        m.end_date + coalesce(m.freeze_days, 0) AS effective_end,
        coalesce(m.status, '') = 'frozen' AS is_frozen,
        coalesce(m.sold_on, m.start_date) AS bought_on
    FROM memberships m
    JOIN lc_id i ON i.client_pid = m.client_pid
    WHERE coalesce(m.status, '') <> 'cancelled'
      AND m.start_date IS NOT NULL
      AND m.end_date IS NOT NULL
) m;

-- Each client's first membership.
CREATE VIEW lc_first AS
SELECT client_pid, cid, membership_pid AS first_membership_pid, start_date AS first_start
FROM lc_membership
WHERE is_first;

-- Visits of known clients, one row per visit, dated. (visited_at stays: an analysis that
-- wants the visits of a few days filters on it, which is much cheaper than on the date made
-- from it for every visit.)
CREATE VIEW lc_visit AS
SELECT i.cid, v.visited_at, CAST(v.visited_at AS DATE) AS day
FROM visits v
JOIN lc_id i ON i.client_pid = v.client_pid
WHERE v.visited_at IS NOT NULL;

-- Visits of known clients, counted per client and day.
CREATE VIEW lc_visit_day AS
SELECT i.client_pid, v.cid, v.day, v.visits
FROM (SELECT cid, day, count(*) AS visits FROM lc_visit GROUP BY cid, day) v
JOIN lc_id i ON i.cid = v.cid;

-- Sales of known clients, dated.
CREATE VIEW lc_sale AS
SELECT s.client_pid, i.cid, CAST(s.sold_at AS DATE) AS day, s.category, s.amount, s.department
FROM sales s
JOIN lc_id i ON i.client_pid = s.client_pid
WHERE s.sold_at IS NOT NULL;
