-- @title RFM scores, segments and the risk/profit matrix over the window ending at D (SPEC §5.4)
-- @requires clients: clients are scored
-- @requires sales: monetary is the sum of sales amounts
-- @optional visits: with rfm_events = visits (clubs) no client is scored without visits
--
-- Window: the $rfm_window_days days ending with D. Events: $rfm_events = 'visits' (clubs):
-- visits give recency and frequency, sales give monetary; 'sales' (transactional businesses):
-- sales give all three. Scored: every client with at least one event in the window.
-- recency_days = D - date of the last event; frequency = number of events; monetary = sum of
-- sales amounts in the window (0 if none).
-- Scores 1-5, ties sharing a score: score = ceil(5 * cume_dist), cume_dist over frequency
-- ascending (F), monetary ascending (M), recency_days descending (R: the most recent get 5).

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

-- Clients per named segment (every segment listed), share of the scored clients, and means.
-- @output segments
WITH
segment_list AS (
    SELECT * FROM (VALUES
        (1, 'champions', '5', '4-5'),
        (2, 'loyal', '3-4', '4-5'),
        (3, 'potential_loyalist', '4-5', '2-3'),
        (4, 'new', '5', '1'),
        (5, 'promising', '4', '1'),
        (6, 'need_attention', '3', '3'),
        (7, 'about_to_sleep', '3', '1-2'),
        (8, 'at_risk', '1-2', '3-4'),
        (9, 'cant_lose', '1-2', '5'),
        (10, 'hibernating', '1-2', '1-2')
    ) AS t(ord, segment, r_scores, f_scores)
),
counted AS (
    SELECT l.ord, l.segment, l.r_scores, l.f_scores,
           count(c.client_pid) AS clients,
           avg(c.recency_days) AS mean_recency_days,
           avg(c.frequency) AS mean_frequency,
           avg(CAST(c.monetary AS DOUBLE)) AS mean_monetary
    FROM segment_list l
    LEFT JOIN rfm_client c ON c.segment = l.segment
    GROUP BY l.ord, l.segment, l.r_scores, l.f_scores
)
SELECT
    segment,
    r_scores,
    f_scores,
    clients,
    CAST(clients AS DOUBLE) / nullif((SELECT count(*) FROM rfm_client), 0) AS share,
    mean_recency_days,
    mean_frequency,
    mean_monetary
FROM counted
ORDER BY ord;

-- The 3×3 risk/profit matrix: clients by R band (rows) and M band (columns).
-- @output matrix
WITH
bands AS (
    SELECT * FROM (VALUES (1, 'R 1-2'), (2, 'R 3'), (3, 'R 4-5')) AS t(ord, r_band)
),
counted AS (
    SELECT b.ord, b.r_band,
           sum(CASE WHEN c.m_band = 'M 1-2' THEN 1 ELSE 0 END) AS m_1_2,
           sum(CASE WHEN c.m_band = 'M 3' THEN 1 ELSE 0 END) AS m_3,
           sum(CASE WHEN c.m_band = 'M 4-5' THEN 1 ELSE 0 END) AS m_4_5
    FROM bands b
    LEFT JOIN rfm_client c ON c.r_band = b.r_band
    GROUP BY b.ord, b.r_band
)
SELECT r_band, m_1_2 AS "M 1-2", m_3 AS "M 3", m_4_5 AS "M 4-5"
FROM counted
ORDER BY ord;

-- Every scored client.
-- @output clients detail
SELECT client_pid, branch, recency_days, frequency, monetary, r, f, m, segment, r_band, m_band
FROM rfm_client
ORDER BY client_pid;
