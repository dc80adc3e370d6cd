-- @title Customer lifetime value (BG/NBD + Gamma-Gamma, as the lifetimes library): fitted parameters, per client P(alive), expected purchases over $clv_horizon periods, expected value, CLV over $clv_months months; --detail churn_risk: the valuable clients most likely to leave (SPEC §5.4)
-- @requires clients: the summary is per client of the clients table
--
-- The SQL gives the summary (clv_events.sql, as clv_summary) and the settings; clm-analyze
-- fits the models on it (crates/clm-predict, clv.rs) and writes the outputs `fit`, `clients`
-- and, with --detail churn_risk, the call list; outputs of the profile's clv_extra.sql follow,
-- with each client's p_alive added.

-- @include clv_events.sql

-- @output settings
SELECT
    $clv_table::VARCHAR AS "table",
    $clv_period::VARCHAR AS period,
    $clv_horizon::BIGINT AS horizon,
    $clv_months::BIGINT AS months,
    $clv_discount_rate::DOUBLE AS discount_rate,
    $clv_penalizer::DOUBLE AS penalizer,
    $as_of::DATE AS as_of;

-- @output summary
SELECT client_pid, frequency, recency, "T", monetary_value
FROM clv_client
ORDER BY client_pid;

-- A profile's own outputs (auto_service: the next service and car purchase dates).
-- @include clv_extra.sql
