-- Memberships (a school's subscriptions, a company's contracts) at each evaluation date, by
-- the rules of SPEC §5.0. Not an analysis: included by the lifecycle files of the profiles
-- whose stages look at memberships (lifecycle_classes.sql, lifecycle_b2b_service.sql). The
-- including file first defines `eval_dates(d DATE)`.
--
-- @include base.sql

-- Per date and client: the memberships started on or before d (whether any, and the latest
-- effective end among them).
CREATE VIEW lc_history AS
SELECT e.d, m.client_pid, max(m.effective_end) AS last_effective_end
FROM eval_dates e
JOIN lc_membership m ON m.start_date <= e.d
GROUP BY e.d, m.client_pid;

-- Per date and client: *the current membership* — among those current at d
-- (start_date <= d <= effective end), the latest start; ties: the latest effective end, then
-- the greatest id — and whether any current membership is frozen.
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
-- after the current one's start and was bought on or before d.
CREATE VIEW lc_renewal_sold AS
SELECT DISTINCT c.d, c.client_pid
FROM lc_current c
JOIN lc_membership m ON m.client_pid = c.client_pid
WHERE m.start_date > c.start_date
  AND m.bought_on <= c.d;

-- No starter package outside fitness clubs (SPEC §5.1's `starter_completed`): the views the
-- period metrics (metrics_core.sql) read about it are empty.
CREATE VIEW lc_starter_offer AS
SELECT CAST(NULL AS VARCHAR) AS service, CAST(NULL AS VARCHAR) AS department
WHERE false;

CREATE VIEW lc_starter_window AS
SELECT CAST(NULL AS VARCHAR) AS client_pid, CAST(NULL AS VARCHAR) AS service, CAST(NULL AS DATE) AS day
WHERE false;
