-- @title A saved filter evaluated at D (`run list --name NAME`): the clients of the base that meet the conditions of the profile's [lists.NAME] — stage, branch, programme, age band, open invoices — as a pid list the club turns into a call list on site
-- @requires clients: the list is of the clients of the bundle
-- @optional memberships: the programme condition matches nobody
-- @optional sales: nobody has an open invoice
--
-- Parameters (from the list, see profile.rs SavedList): $list_name; $list_stage,
-- $list_branch, $list_programme, $list_age_band — lists of accepted values, an empty list
-- accepting every client; $list_open_invoices — `yes` (at least one open invoice), `no`
-- (none) or `any`. The stages are the profile's (its lifecycle file).
--   programme      the product of the client's latest membership started by D (latest
--                  start; ties: greatest id), non-cancelled (SPEC §5.0);
--   open_invoices  sales of the client with payment_status `open`, sold by D.

CREATE VIEW eval_dates AS
SELECT $as_of::DATE AS d;

-- @include lifecycle.sql
CREATE TABLE ls_stage AS
SELECT * FROM lc_stage;

CREATE VIEW ls_programme AS
SELECT client_pid, product AS programme
FROM (
    SELECT
        l.client_pid,
        m.product,
        row_number() OVER (
            PARTITION BY l.client_pid
            ORDER BY l.start_date DESC, l.membership_pid DESC
        ) AS pick
    FROM lc_membership l
    JOIN memberships m ON m.membership_pid = l.membership_pid
    WHERE l.start_date <= $as_of::DATE
) ranked
WHERE pick = 1;

CREATE VIEW ls_open AS
SELECT client_pid, count(*) AS open_invoices, sum(amount) AS open_amount
FROM sales
WHERE payment_status = 'open'
  AND CAST(sold_at AS DATE) <= $as_of::DATE
GROUP BY client_pid;

-- @output clients
SELECT
    s.client_pid,
    $list_name::VARCHAR AS list,
    s.branch,
    s.stage,
    c.age_band,
    p.programme,
    coalesce(o.open_invoices, 0) AS open_invoices,
    o.open_amount,
    array_element(
        $stage_actions::VARCHAR[],
        CAST(array_position($stage_order::VARCHAR[], s.stage) AS BIGINT)
    ) AS recommended_action
FROM ls_stage s
JOIN clients c ON c.client_pid = s.client_pid
LEFT JOIN ls_programme p ON p.client_pid = s.client_pid
LEFT JOIN ls_open o ON o.client_pid = s.client_pid
WHERE (cardinality($list_stage::VARCHAR[]) = 0 OR array_has($list_stage::VARCHAR[], s.stage))
  AND (cardinality($list_branch::VARCHAR[]) = 0 OR array_has($list_branch::VARCHAR[], s.branch))
  AND (cardinality($list_programme::VARCHAR[]) = 0
       OR array_has($list_programme::VARCHAR[], p.programme))
  AND (cardinality($list_age_band::VARCHAR[]) = 0
       OR array_has($list_age_band::VARCHAR[], c.age_band))
  AND CASE $list_open_invoices::VARCHAR
          WHEN 'yes' THEN coalesce(o.open_invoices, 0) > 0
          WHEN 'no' THEN coalesce(o.open_invoices, 0) = 0
          ELSE true
      END
ORDER BY coalesce(array_position($stage_order::VARCHAR[], s.stage), 1000), s.branch, s.client_pid;
