-- The lifecycle stage of every account at every evaluation date, profile `b2b_service` (a
-- company selling services to companies, SPEC §6). Used instead of lifecycle.sql by the
-- profiles/b2b_service.toml `[queries]` table; it gives `lc_stage` the same columns, so
-- segmentation, segments, list and the metrics read it unchanged.
--
-- Canonical data: a client is an account (a company); memberships are its service contracts
-- (current, first, effective end and renewal as SPEC §5.0 defines them for memberships);
-- sales are invoices; visits are contacts with the account (calls, meetings, site visits);
-- feedback holds NPS answers (0-10). At each date d (first match wins):
--
-- 1. `onboarding`: a current contract, and the account's first contract started within
--    $onboarding_days days before d.
-- 2. `at_risk` (retention): a current contract and any of: the latest NPS answer of the last
--    $nps_window_days days is $nps_risk_score or lower (several on that day: the lowest); no
--    contact in the last $contact_days days; the current contract's effective end is 0 to
--    $renewal_window_days days after d and no renewal was sold by d.
-- 3. `growth` (upsell): a current contract, and the amount invoiced in the last $growth_days
--    days is greater than in the $growth_days days before those.
-- 4. `service`: any other account with a current contract.
-- 5. `churned`: no current contract; a contract started on or before d.
-- 6. `acquisition`: no contract started by d (a prospect).
--
-- The base at d: registered on or before d (or with no registration date), less archived
-- prospects (archived_on <= d and no contract started by d). Flags: `at_risk` is rule 2's
-- condition (it also holds for accounts in onboarding); `starter_completed` does not apply
-- (empty). The membership columns show the current contract.
--
-- @requires clients: stages are given to the accounts of the clients table
-- @requires memberships: stages are defined by service contracts
-- @optional visits: without contacts every account with a contract is at risk
-- @optional sales: no account is in growth
-- @optional feedback: NPS does not put accounts at risk
-- @include current.sql
-- @include no_starter.sql

-- Per date and account: the latest NPS answer of the window (the lowest score of that day).
CREATE VIEW lc_nps_last AS
SELECT d, client_pid, min(score) AS last_score
FROM (
    SELECT
        e.d,
        f.client_pid,
        f.score,
        rank() OVER (PARTITION BY e.d, f.client_pid ORDER BY f.answered_on DESC) AS pick
    FROM eval_dates e
    JOIN feedback f
      ON f.answered_on <= e.d
     AND e.d - f.answered_on <= $nps_window_days::BIGINT - 1
    WHERE f.client_pid IN (SELECT client_pid FROM lc_client)
      AND f.score BETWEEN 0 AND 10
) ranked
WHERE pick = 1
GROUP BY d, client_pid;

-- Per date and account: contacts in the last $contact_days days.
CREATE VIEW lc_contacts_at AS
SELECT e.d, v.client_pid, sum(v.visits) AS contacts
FROM eval_dates e
JOIN lc_visit_day v ON v.day <= e.d AND e.d - v.day <= $contact_days::BIGINT - 1
GROUP BY e.d, v.client_pid;

-- Per date and account: invoiced in the last $growth_days days and in the $growth_days before.
CREATE VIEW lc_invoiced_at AS
SELECT
    e.d,
    s.client_pid,
    sum(CASE WHEN e.d - s.day <= $growth_days::BIGINT - 1 THEN s.amount ELSE 0 END) AS recent,
    sum(CASE WHEN e.d - s.day >= $growth_days::BIGINT THEN s.amount ELSE 0 END) AS before
FROM eval_dates e
JOIN lc_sale s ON s.day <= e.d AND e.d - s.day <= 2 * $growth_days::BIGINT - 1
GROUP BY e.d, s.client_pid;

CREATE VIEW lc_stage AS
WITH flagged AS (
    SELECT
        e.d,
        c.client_pid,
        c.branch,
        c.registered_on,
        c.archived_on,
        h.client_pid IS NOT NULL AS had_contract,
        cur.client_pid IS NOT NULL AS has_current,
        f.first_start,
        cur.membership_pid,
        cur.start_date,
        cur.effective_end,
        cur.client_pid IS NOT NULL AND (
            coalesce(n.last_score <= $nps_risk_score::BIGINT, false)
            OR coalesce(ct.contacts, 0) = 0
            OR (cur.effective_end - e.d <= $renewal_window_days::BIGINT AND rs.client_pid IS NULL)
        ) AS at_risk,
        coalesce(i.recent, 0) > coalesce(i.before, 0) AS growing
    FROM eval_dates e
    CROSS JOIN lc_client c
    LEFT JOIN lc_history h ON h.d = e.d AND h.client_pid = c.client_pid
    LEFT JOIN lc_current cur ON cur.d = e.d AND cur.client_pid = c.client_pid
    LEFT JOIN lc_first f ON f.client_pid = c.client_pid
    LEFT JOIN lc_renewal_sold rs ON rs.d = e.d AND rs.client_pid = c.client_pid
    LEFT JOIN lc_nps_last n ON n.d = e.d AND n.client_pid = c.client_pid
    LEFT JOIN lc_contacts_at ct ON ct.d = e.d AND ct.client_pid = c.client_pid
    LEFT JOIN lc_invoiced_at i ON i.d = e.d AND i.client_pid = c.client_pid
)
SELECT
    d,
    client_pid,
    branch,
    CASE
        -- 1. the first contract started within $onboarding_days days
        WHEN has_current AND d - first_start <= $onboarding_days::BIGINT THEN 'onboarding'
        -- 2. low NPS, no contact, or a contract ending without renewal
        WHEN at_risk THEN 'at_risk'
        -- 3. invoicing more than in the period before
        WHEN has_current AND growing THEN 'growth'
        -- 4. any other account under contract
        WHEN has_current THEN 'service'
        -- 5. was a customer
        WHEN had_contract THEN 'churned'
        -- 6. a prospect
        ELSE 'acquisition'
    END AS stage,
    has_current,
    CAST(NULL AS BOOLEAN) AS starter_completed,
    at_risk,
    membership_pid,
    start_date AS membership_start,
    effective_end AS membership_effective_end
FROM flagged
WHERE (registered_on IS NULL OR registered_on <= d)
  AND NOT (coalesce(archived_on <= d, false) AND NOT had_contract);
