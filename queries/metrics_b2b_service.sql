-- @title Period metrics of a B2B service company per branch and in total: accounts, churn, renewal, NPS, revenue, new money, portfolio revenue, coverage by contacts, at-risk share (SPEC §5.2, §6)
-- @requires clients: every metric counts the accounts of the clients table
-- @requires memberships: accounts, churn and renewal are defined by service contracts
-- @optional visits: contact_coverage is 0
-- @optional sales: revenue, new_money and portfolio_revenue are empty
-- @optional feedback: nps is empty
--
-- Profile `b2b_service` (profiles/b2b_service.toml names this file instead of metrics.sql).
-- churn_rate, renewal_rate, revenue, new_clients (accounts whose first contract started in
-- the period), leads (accounts registered in the period) and nps are the §5.2 metrics,
-- computed once in metrics_core.sql over contracts and the account stages of
-- lifecycle_b2b_service.sql. Added here, per period and scope:
--   accounts          accounts with a current contract at the period's end;
--   new_money         the amount invoiced in the period to accounts whose first contract
--                     started in the period;
--   portfolio_revenue the rest of the period's revenue (the existing portfolio);
--   contact_coverage  of the accounts, the share with a contact (a visits row) in the period;
--   at_risk_share     of the accounts, the share at risk at the period's end (rule 2 of
--                     lifecycle_b2b_service.sql).

-- @include metrics_core.sql

-- Accounts at each period's end, those at risk, and those contacted in the period.
CREATE TABLE mb_accounts AS
WITH contacted AS (
    SELECT DISTINCT p.period_start, v.client_pid
    FROM period p
    JOIN lc_visit_day v ON v.day BETWEEN p.period_start AND p.period_end
)
SELECT
    p.period_start,
    sc.branch,
    count(*) AS accounts,
    sum(CASE WHEN s.at_risk THEN 1 ELSE 0 END) AS at_risk,
    sum(CASE WHEN ct.client_pid IS NOT NULL THEN 1 ELSE 0 END) AS contacted
FROM period p
JOIN mt_stage s ON s.d = p.period_end AND s.has_current
JOIN mt_client_scope sc ON sc.client_pid = s.client_pid
LEFT JOIN contacted ct ON ct.period_start = p.period_start AND ct.client_pid = s.client_pid
GROUP BY p.period_start, sc.branch;

-- The period's invoices to accounts whose first contract started in the period.
CREATE TABLE mb_new_money AS
SELECT
    p.period_start,
    sc.branch,
    sum(s.amount) AS new_money
FROM period p
JOIN lc_sale s ON s.day BETWEEN p.period_start AND p.period_end
JOIN lc_first f
  ON f.client_pid = s.client_pid
 AND f.first_start BETWEEN p.period_start AND p.period_end
JOIN mt_client_scope sc ON sc.client_pid = s.client_pid
GROUP BY p.period_start, sc.branch;

-- @output metrics
SELECT
    m.period_start,
    m.period_end,
    m.branch,
    coalesce(a.accounts, 0) AS accounts,
    m.new_clients,
    m.leads,
    m.churn_rate,
    m.renewal_rate,
    m.nps,
    m.revenue,
    CASE WHEN m.revenue IS NOT NULL THEN coalesce(n.new_money, 0) END AS new_money,
    m.revenue - coalesce(n.new_money, 0) AS portfolio_revenue,
    CAST(a.contacted AS DOUBLE) / nullif(a.accounts, 0) AS contact_coverage,
    CAST(a.at_risk AS DOUBLE) / nullif(a.accounts, 0) AS at_risk_share
FROM mt_metrics m
LEFT JOIN mb_accounts a ON a.period_start = m.period_start AND a.branch = m.branch
LEFT JOIN mb_new_money n ON n.period_start = m.period_start AND n.branch = m.branch
-- (`branch || ''`: see segmentation.sql)
ORDER BY m.period_start, m.branch <> '(all)', m.branch || '';
