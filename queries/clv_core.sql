-- The customer summary in the convention of the `lifetimes` library (SPEC §5.4), written once:
-- included by rfm_summary.sql (daily periods, sales) and clv_summary.sql (the profile's
-- [clv] table and period unit). Not an analysis.
--
-- Reads the view `clv_event(cid, period, amount)` that the including file defines: one row
-- per event up to D, `period` a whole number (the day, week or month index), `amount` a
-- DECIMAL; and `clv_end(period)`, one row: the period of D.
--
-- A client's events in one period are one purchase, their amounts summed.
-- frequency = purchase periods - 1; recency = last purchase period - first purchase period;
-- T = D's period - first purchase period; monetary_value = mean amount over the purchase
-- periods after the first (0 when there are none). The mean is the exact sum in cents divided
-- once by 100 × the count: the double nearest the exact mean, whatever the order in which a
-- parallel sum adds the rows (a sum of doubles depends on it in its last digits), so every
-- run gives the same digits. (A DECIMAL quotient keeps only 6 places in DataFusion.)

CREATE TABLE clv_client AS
WITH
purchase AS (
    SELECT cid, period, sum(amount) AS amount
    FROM clv_event
    GROUP BY cid, period
),
span AS (
    SELECT cid, min(period) AS first_period, max(period) AS last_period, count(*) AS periods
    FROM purchase
    GROUP BY cid
),
repeat AS (
    SELECT p.cid, sum(p.amount) AS amount, count(*) AS periods
    FROM purchase p
    JOIN span s ON s.cid = p.cid
    WHERE p.period > s.first_period
    GROUP BY p.cid
)
SELECT
    c.client_pid,
    s.cid,
    CAST(s.periods - 1 AS BIGINT) AS frequency,
    CAST(s.last_period - s.first_period AS BIGINT) AS recency,
    CAST(e.period - s.first_period AS BIGINT) AS "T",
    -- cents, exact as an integer and as a double (below 2^53), divided once: the double
    -- nearest the exact mean
    coalesce(
        CAST(CAST(r.amount * 100 AS BIGINT) AS DOUBLE) / (100.0 * CAST(r.periods AS DOUBLE)),
        0.0
    ) AS monetary_value
FROM span s
JOIN lc_client c ON c.cid = s.cid
CROSS JOIN clv_end e
LEFT JOIN repeat r ON r.cid = s.cid;
