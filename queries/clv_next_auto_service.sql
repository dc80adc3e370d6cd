-- The dealer's next dates (profile auto_service, used instead of clv_extra.sql): per client,
-- the expected date of the next service visit and of the next car purchase, with the stage at
-- D; `run clv` adds each client's P(alive) from the fitted BG/NBD model. Not an analysis.
--
-- The dates come from the profile's intervals, not from the fitted model: service is due by a
-- schedule (the first $first_service_days days after the purchase, then every
-- $service_interval_days days), not at the memoryless random times BG/NBD assumes, and a car
-- is bought once in several years, too few repeats per client to fit a purchase rate. The
-- model's P(alive) says how likely the client is to come at all.
--   next_service: no service since the latest car purchase: that purchase + $first_service_days
--     (`first`); else the latest service visit + $service_interval_days (`regular`). Empty for
--     a client with neither.
--   next_car_purchase: the latest car purchase + $replacement_age_months months. Empty for a
--     client who bought no car here.
--   overdue: the next service date is before D.
-- @requires sales: vehicle purchases (category `vehicle`)
-- @requires visits: service visits

CREATE VIEW eval_dates AS
SELECT $as_of::DATE AS d;

-- @include lifecycle.sql

-- @output next_dates
SELECT
    s.client_pid,
    s.stage,
    o.last_purchase AS last_car_purchase,
    o.last_service,
    CASE
        WHEN o.last_purchase IS NOT NULL AND NOT o.serviced_since
            THEN o.last_purchase + CAST($first_service_days::BIGINT AS INTEGER)
        WHEN o.last_service IS NOT NULL
            THEN o.last_service + CAST($service_interval_days::BIGINT AS INTEGER)
    END AS next_service,
    CASE
        WHEN o.last_purchase IS NOT NULL AND NOT o.serviced_since THEN 'first'
        WHEN o.last_service IS NOT NULL THEN 'regular'
    END AS service_kind,
    CAST(o.last_purchase + CAST(concat(CAST($replacement_age_months::BIGINT AS VARCHAR), ' months') AS INTERVAL) AS DATE)
        AS next_car_purchase
FROM lc_stage s
JOIN lc_owner o ON o.d = s.d AND o.client_pid = s.client_pid
WHERE s.stage <> 'lead';
