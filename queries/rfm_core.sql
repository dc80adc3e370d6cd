-- RFM scores and named segments of every client with an event in the window ending at D
-- (SPEC §5.4), into the table rfm_client. Not an analysis: included by rfm.sql (summaries)
-- and segments.sql (the per-client action list). See rfm.sql for the definitions.
-- @requires clients: clients are scored
-- @optional sales: monetary is 0 for every client
-- @optional visits: with rfm_events = visits (clubs) no client is scored without visits

-- @include base.sql
CREATE VIEW rfm_event AS
SELECT client_pid, day, visits AS events
FROM lc_visit_day
WHERE $rfm_events::VARCHAR = 'visits'
  AND day <= $as_of::DATE
  AND $as_of::DATE - day <= $rfm_window_days::BIGINT - 1
UNION ALL
SELECT client_pid, day, 1 AS events
FROM lc_sale
WHERE $rfm_events::VARCHAR = 'sales'
  AND day <= $as_of::DATE
  AND $as_of::DATE - day <= $rfm_window_days::BIGINT - 1;

CREATE TABLE rfm_client AS
WITH
per_client AS (
    SELECT client_pid, $as_of::DATE - max(day) AS recency_days, sum(events) AS frequency
    FROM rfm_event
    GROUP BY client_pid
),
money AS (
    SELECT client_pid, sum(amount) AS monetary
    FROM lc_sale
    WHERE day <= $as_of::DATE
      AND $as_of::DATE - day <= $rfm_window_days::BIGINT - 1
    GROUP BY client_pid
),
valued AS (
    SELECT p.client_pid, c.branch, p.recency_days, p.frequency,
           coalesce(m.monetary, CAST(0 AS DECIMAL(18, 2))) AS monetary
    FROM per_client p
    JOIN lc_client c ON c.client_pid = p.client_pid
    LEFT JOIN money m ON m.client_pid = p.client_pid
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

