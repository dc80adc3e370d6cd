-- The events and periods of the [clv] summary (SPEC §5.4), into clv_client: included by
-- clv_summary.sql and clv.sql. Not an analysis.
-- @requires clients: the summary is per client of the clients table
-- @optional services: with [clv] table = "services" no client has an event
--
-- Events: $clv_table = 'sales' (amounts: monetary_value), 'visits' or 'services' (done ones;
-- no amounts: monetary_value 0, and `run clv` then predicts purchases but no value).
-- Periods: $clv_period = 'day'; 'week' (Monday to Sunday, as pandas' weekly periods that
-- lifetimes uses with freq="W"); 'month' (calendar months; lifetimes' freq="M" divides by
-- an average month instead, so its recency and T are not whole months). The summary rules
-- are clv_core.sql's, the same as rfm_summary's.

-- @include base.sql
CREATE VIEW clv_day AS
SELECT cid, day, amount
FROM lc_sale
WHERE $clv_table::VARCHAR = 'sales'
UNION ALL
SELECT cid, day, CAST(0 AS DECIMAL(18, 2)) AS amount
FROM lc_visit
WHERE $clv_table::VARCHAR = 'visits'
UNION ALL
SELECT i.cid, CAST(s.done_at AS DATE) AS day, CAST(0 AS DECIMAL(18, 2)) AS amount
FROM services s
JOIN lc_id i ON i.client_pid = s.client_pid
WHERE $clv_table::VARCHAR = 'services'
  AND s.done_at IS NOT NULL
  AND coalesce(s.status, 'done') = 'done';

-- The period index of a date: days since 1970-01-01; weeks since Monday 1970-01-05 (floored,
-- so a week always starts on a Monday); months since January 1970.
CREATE VIEW clv_event AS
SELECT cid,
    CASE $clv_period::VARCHAR
        WHEN 'week' THEN CAST(floor(CAST(day - DATE '1970-01-05' AS DOUBLE) / 7.0) AS BIGINT)
        WHEN 'month' THEN CAST(date_part('year', day) AS BIGINT) * 12 + CAST(date_part('month', day) AS BIGINT) - 1
        ELSE CAST(day - DATE '1970-01-01' AS BIGINT)
    END AS period,
    amount
FROM clv_day
WHERE day <= $as_of::DATE;

CREATE VIEW clv_end AS
SELECT
    CASE $clv_period::VARCHAR
        WHEN 'week' THEN CAST(floor(CAST($as_of::DATE - DATE '1970-01-05' AS DOUBLE) / 7.0) AS BIGINT)
        WHEN 'month' THEN CAST(date_part('year', $as_of::DATE) AS BIGINT) * 12 + CAST(date_part('month', $as_of::DATE) AS BIGINT) - 1
        ELSE CAST($as_of::DATE - DATE '1970-01-01' AS BIGINT)
    END AS period;

-- @include clv_core.sql
