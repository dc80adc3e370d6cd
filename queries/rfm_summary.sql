-- @title Customer summary in the convention of the `lifetimes` library (frequency, recency, T, monetary_value) from sales up to D, daily (SPEC §5.4)
-- @requires clients: the summary is per client of the clients table
-- @requires sales: purchases are the sales
--
-- Daily periods: a client's purchases on one day are one purchase, their amounts summed.
-- frequency = purchase days - 1; recency = last purchase day - first purchase day;
-- T = D - first purchase day; monetary_value = mean amount over the purchase days after the
-- first (0 when there are none). Every sale up to D counts. The rules are clv_core.sql's;
-- clv_summary is the same summary over the profile's [clv] table and period unit.

-- @include base.sql
CREATE VIEW clv_event AS
SELECT cid, CAST(day - DATE '1970-01-01' AS BIGINT) AS period, amount
FROM lc_sale
WHERE day <= $as_of::DATE;

CREATE VIEW clv_end AS
SELECT CAST($as_of::DATE - DATE '1970-01-01' AS BIGINT) AS period;

-- @include clv_core.sql

-- @output summary
SELECT client_pid, frequency, recency, "T", monetary_value
FROM clv_client
ORDER BY client_pid;
