-- @title The lifetimes summary (frequency, recency, T, monetary_value) over the profile's [clv] table and period unit: what `run clv` fits (SPEC §5.4)
-- @requires clients: the summary is per client of the clients table
--
-- The events ($clv_table) and period unit ($clv_period) are the profile's [clv]; see
-- clv_events.sql. With sales and days it equals rfm_summary.

-- @include clv_events.sql

-- One row per client with an event up to D, in client order.
-- @output summary
SELECT client_pid, frequency, recency, "T", monetary_value
FROM clv_client
ORDER BY client_pid;
