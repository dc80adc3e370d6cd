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

-- Clients of the export.
CREATE VIEW lc_client AS
SELECT client_pid, branch, registered_on, trial_booked_on, archived_on
FROM clients
WHERE client_pid IS NOT NULL AND trim(client_pid) <> '';

-- Non-cancelled memberships of known clients, with their effective end, the date they were
-- bought (sold_on, or the start when the export has no sale date), and whether each is the
-- client's *first*: the earliest by start_date, ties by sold_on, then by id.
CREATE VIEW lc_membership AS
SELECT
    m.membership_pid,
    m.client_pid,
    m.branch,
    m.start_date,
    m.end_date + coalesce(m.freeze_days, 0) AS effective_end,
    coalesce(m.status, '') = 'frozen' AS is_frozen,
    coalesce(m.sold_on, m.start_date) AS bought_on,
    row_number() OVER (
        PARTITION BY m.client_pid
        ORDER BY m.start_date, m.sold_on NULLS LAST, m.membership_pid
    ) = 1 AS is_first
FROM memberships m
WHERE m.client_pid IN (SELECT client_pid FROM lc_client)
  AND coalesce(m.status, '') <> 'cancelled'
  AND m.start_date IS NOT NULL
  AND m.end_date IS NOT NULL;

-- Each client's first membership.
CREATE VIEW lc_first AS
SELECT client_pid, membership_pid AS first_membership_pid, start_date AS first_start
FROM lc_membership
WHERE is_first;

-- Visits of known clients, counted per client and day.
CREATE VIEW lc_visit_day AS
SELECT client_pid, CAST(visited_at AS DATE) AS day, count(*) AS visits
FROM visits
WHERE client_pid IN (SELECT client_pid FROM lc_client)
  AND visited_at IS NOT NULL
GROUP BY client_pid, CAST(visited_at AS DATE);

-- Sales of known clients, dated.
CREATE VIEW lc_sale AS
SELECT client_pid, CAST(sold_at AS DATE) AS day, category, amount, department
FROM sales
WHERE client_pid IN (SELECT client_pid FROM lc_client)
  AND sold_at IS NOT NULL;
