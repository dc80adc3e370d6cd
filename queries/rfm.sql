-- @title RFM scores, segments, the risk/profit matrix and the score bins over the window ending at D (SPEC §5.4)
-- @requires clients: clients are scored
-- @requires sales: monetary is the sum of sales amounts
-- @optional visits: with rfm_events = visits (clubs), recency and frequency come from the sales instead
--
-- Window: the $rfm_window_days days ending with D ('all': the whole history up to D).
-- Events: $rfm_events = 'visits' (clubs): visits give recency and frequency, sales give
-- monetary (a bundle without visits: sales give all three); 'sales' (transactional
-- businesses): sales give all three. Scored: every client with at least one event in the
-- window. recency_days = D - date of the last event; frequency = number of events;
-- monetary = sum of sales amounts in the window (0 if none).
-- Scores 1-5, ties always sharing a score, larger = better (R: the most recent get 5):
--   $rfm_bins = 'quantile' with $rfm_ties = 'dense' (default): by position among the scored
--     clients, a tie group placed by its middle client; when a dimension has at least 5
--     distinct values every score 1-5 has clients. $rfm_ties = 'cume_dist':
--     score = ceil(5 * cume_dist), a tie group taking the top of its block (levels can be
--     empty when one value is common, e.g. half the clients with a single purchase).
--   $rfm_bins = 'fixed': the profile's thresholds $rfm_r_bins (most recency days for 5, 4,
--     3, 2), $rfm_f_bins and $rfm_m_bins (least value for 2, 3, 4, 5).
-- The rules are in rfm_core.sql; the output `bins` shows, per dimension and score, the clients
-- and the values that got it.

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

-- The bins in force: per dimension and score, the clients and the range of values that got
-- it (R in recency days, F in events, M in money), the rule, and the events R and F count
-- (sales where rfm_events = visits but the bundle has no visit).
-- @output bins
WITH
scores AS (
    SELECT * FROM (VALUES ('R', 1), ('R', 2), ('R', 3), ('R', 4), ('R', 5),
                          ('F', 1), ('F', 2), ('F', 3), ('F', 4), ('F', 5),
                          ('M', 1), ('M', 2), ('M', 3), ('M', 4), ('M', 5)) AS t(dim, score)
),
ranges AS (
    SELECT dim, score, sum(n_k) AS clients,
        min(CASE WHEN dim = 'R' THEN 0.0 - k ELSE k END) AS lowest,
        max(CASE WHEN dim = 'R' THEN 0.0 - k ELSE k END) AS highest
    FROM rfm_group_score
    GROUP BY dim, score
)
SELECT s.dim, s.score, coalesce(r.clients, 0) AS clients, r.lowest, r.highest,
    CASE WHEN $rfm_bins::VARCHAR = 'fixed' THEN 'fixed' ELSE $rfm_ties::VARCHAR END AS rule,
    (SELECT events FROM rfm_setting) AS events
FROM scores s
LEFT JOIN ranges r ON r.dim = s.dim AND r.score = s.score
ORDER BY CASE s.dim WHEN 'R' THEN 1 WHEN 'F' THEN 2 ELSE 3 END, s.score;

-- Every scored client.
-- @output clients detail
SELECT client_pid, branch, recency_days, frequency, monetary, r, f, m, segment, r_band, m_band
FROM rfm_client
ORDER BY client_pid;
