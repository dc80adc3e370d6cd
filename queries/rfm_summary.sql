-- @title Customer summary in the convention of the `lifetimes` library (frequency, recency, T, monetary_value) from sales up to D (SPEC §5.4)
-- @requires clients: the summary is per client of the clients table
-- @requires sales: purchases are the sales
--
-- Daily periods: a client's purchases on one day are one purchase, their amounts summed.
-- frequency = purchase days - 1; recency = last purchase day - first purchase day;
-- T = D - first purchase day; monetary_value = mean amount over the purchase days after the
-- first (0 when there are none). Every sale up to D counts.

-- @include base.sql
-- @output summary
WITH
purchase_day AS (
    SELECT client_pid, day, sum(amount) AS amount
    FROM lc_sale
    WHERE day <= $as_of::DATE
    GROUP BY client_pid, day
),
span AS (
    SELECT client_pid, min(day) AS first_day, max(day) AS last_day, count(*) AS days
    FROM purchase_day
    GROUP BY client_pid
),
repeat AS (
    SELECT p.client_pid, avg(CAST(p.amount AS DOUBLE)) AS mean_amount
    FROM purchase_day p
    JOIN span s ON s.client_pid = p.client_pid
    WHERE p.day > s.first_day
    GROUP BY p.client_pid
)
SELECT
    s.client_pid,
    s.days - 1 AS frequency,
    s.last_day - s.first_day AS recency,
    $as_of::DATE - s.first_day AS "T",
    coalesce(r.mean_amount, 0.0) AS monetary_value
FROM span s
LEFT JOIN repeat r ON r.client_pid = s.client_pid
ORDER BY s.client_pid;
