-- RFM scores and named segments of every client with an event in the window ending at D
-- (SPEC §5.4), into the table rfm_client. Not an analysis: included by rfm.sql (summaries)
-- and segments.sql (the per-client action list). See rfm.sql for the definitions.
-- @requires clients: clients are scored
-- @optional sales: monetary is 0 for every client
-- @optional visits: with rfm_events = visits (clubs) no client is scored without visits

-- @include base.sql
CREATE VIEW rfm_event AS
SELECT cid, day, 1 AS events
FROM lc_visit
WHERE $rfm_events::VARCHAR = 'visits'
  -- the window on the timestamp (its date is in the window exactly when it is in
  -- [D - ($rfm_window_days - 1), D + 1)), so that only the window's visits are dated
  AND visited_at >= CAST($as_of::DATE - CAST($rfm_window_days::BIGINT - 1 AS INTEGER) AS TIMESTAMP)
  AND visited_at < CAST($as_of::DATE + 1 AS TIMESTAMP)
UNION ALL
SELECT cid, day, 1 AS events
FROM lc_sale
WHERE $rfm_events::VARCHAR = 'sales'
  AND day <= $as_of::DATE
  AND $as_of::DATE - day <= $rfm_window_days::BIGINT - 1;

CREATE TABLE rfm_client AS
WITH
per_client AS (
    SELECT cid, $as_of::DATE - max(day) AS recency_days, sum(events) AS frequency
    FROM rfm_event
    GROUP BY cid
),
money AS (
    SELECT cid, sum(amount) AS monetary
    FROM lc_sale
    WHERE day <= $as_of::DATE
      AND $as_of::DATE - day <= $rfm_window_days::BIGINT - 1
    GROUP BY cid
),
valued AS (
    SELECT c.client_pid, c.branch, p.recency_days, p.frequency,
           coalesce(m.monetary, CAST(0 AS DECIMAL(18, 2))) AS monetary
    FROM per_client p
    JOIN lc_client c ON c.cid = p.cid
    LEFT JOIN money m ON m.cid = p.cid
),
scored AS (
    SELECT *,
        CAST(ceil(5 * cume_dist() OVER (ORDER BY recency_days DESC)) AS BIGINT) AS r,
        CAST(ceil(5 * cume_dist() OVER (ORDER BY frequency ASC)) AS BIGINT) AS f,
        CAST(ceil(5 * cume_dist() OVER (ORDER BY monetary ASC)) AS BIGINT) AS m
    FROM valued
)
SELECT *,
    CASE
        WHEN r = 5 AND f >= 4 THEN 'champions'
        WHEN r IN (3, 4) AND f >= 4 THEN 'loyal'
        WHEN r >= 4 AND f IN (2, 3) THEN 'potential_loyalist'
        WHEN r = 5 AND f = 1 THEN 'new'
        WHEN r = 4 AND f = 1 THEN 'promising'
        WHEN r = 3 AND f = 3 THEN 'need_attention'
        WHEN r = 3 AND f <= 2 THEN 'about_to_sleep'
        WHEN r <= 2 AND f IN (3, 4) THEN 'at_risk'
        WHEN r <= 2 AND f = 5 THEN 'cant_lose'
        ELSE 'hibernating'
    END AS segment,
    CASE WHEN r <= 2 THEN 'R 1-2' WHEN r = 3 THEN 'R 3' ELSE 'R 4-5' END AS r_band,
    CASE WHEN m <= 2 THEN 'M 1-2' WHEN m = 3 THEN 'M 3' ELSE 'M 4-5' END AS m_band
FROM scored;

