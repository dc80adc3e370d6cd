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

-- @include rfm_core.sql

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
