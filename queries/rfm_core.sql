-- RFM scores and named segments of every client with an event in the window ending at D
-- (SPEC §5.4), into the table rfm_client, and the score bins into rfm_bin. Not an analysis:
-- included by rfm.sql (summaries) and segments.sql (the per-client action list). See rfm.sql
-- for the definitions.
-- @requires clients: clients are scored
-- @optional sales: monetary is 0 for every client
-- @optional visits: with rfm_events = visits (clubs), recency and frequency come from the sales instead

-- @include base.sql

-- The events: visits (rfm_events = visits, when the bundle has visits up to D) or sales
-- (rfm_events = sales, or no visit at all: RFM on the purchases rather than all zeros).
-- The window: the $rfm_window_days days ending with D, or the whole history ('all').
CREATE TABLE rfm_setting AS
SELECT
    CASE
        WHEN $rfm_events::VARCHAR = 'visits' AND v.visits > 0 THEN 'visits'
        ELSE 'sales'
    END AS events,
    CASE
        WHEN $rfm_window_days::VARCHAR = 'all' THEN DATE '0001-01-01'
        ELSE $as_of::DATE - CAST(TRY_CAST($rfm_window_days::VARCHAR AS BIGINT) - 1 AS INTEGER)
    END AS first_day
FROM (
    SELECT count(*) AS visits
    FROM lc_visit
    WHERE visited_at < CAST($as_of::DATE + 1 AS TIMESTAMP)
) v;

CREATE VIEW rfm_event AS
SELECT v.cid, v.day, 1 AS events
FROM lc_visit v
CROSS JOIN rfm_setting w
WHERE w.events = 'visits'
  -- the window on the timestamp (its date is in the window exactly when it is in
  -- [first day, D + 1)), so that only the window's visits are dated
  AND v.visited_at >= CAST(w.first_day AS TIMESTAMP)
  AND v.visited_at < CAST($as_of::DATE + 1 AS TIMESTAMP)
UNION ALL
SELECT s.cid, s.day, 1 AS events
FROM lc_sale s
CROSS JOIN rfm_setting w
WHERE w.events = 'sales'
  AND s.day <= $as_of::DATE
  AND s.day >= w.first_day;

CREATE TABLE rfm_value AS
WITH
per_client AS (
    SELECT cid, $as_of::DATE - max(day) AS recency_days, sum(events) AS frequency
    FROM rfm_event
    GROUP BY cid
),
money AS (
    SELECT s.cid, sum(s.amount) AS monetary
    FROM lc_sale s
    CROSS JOIN rfm_setting w
    WHERE s.day <= $as_of::DATE
      AND s.day >= w.first_day
    GROUP BY s.cid
)
SELECT p.cid, c.client_pid, c.branch, p.recency_days, p.frequency,
       coalesce(m.monetary, CAST(0 AS DECIMAL(18, 2))) AS monetary
FROM per_client p
JOIN lc_client c ON c.cid = p.cid
LEFT JOIN money m ON m.cid = p.cid;

-- Each client's three keys, larger = better: R is -recency_days (the most recent best).
CREATE VIEW rfm_key AS
SELECT cid, 'R' AS dim, -CAST(recency_days AS DOUBLE) AS k FROM rfm_value
UNION ALL
SELECT cid, 'F' AS dim, CAST(frequency AS DOUBLE) AS k FROM rfm_value
UNION ALL
SELECT cid, 'M' AS dim, CAST(monetary AS DOUBLE) AS k FROM rfm_value;

-- The distinct key values per dimension (tie groups) in ascending order: d = 1..K, the
-- clients of the group (n_k) and up to it (cum), and n (all scored clients).
CREATE TABLE rfm_group AS
SELECT dim, k, n_k,
    dense_rank() OVER (PARTITION BY dim ORDER BY k) AS d,
    sum(n_k) OVER (PARTITION BY dim ORDER BY k ROWS UNBOUNDED PRECEDING) AS cum,
    sum(n_k) OVER (PARTITION BY dim) AS n,
    count(*) OVER (PARTITION BY dim) AS kk
FROM (SELECT dim, k, count(*) AS n_k FROM rfm_key GROUP BY dim, k) g;

-- The lower edges of scores 2..5 (j = 1..4) in key space: a client scores 1 + the number of
-- edges at or below its key.
--   rfm_bins = 'fixed': the profile's thresholds: F and M score 1 + the number of
--     $rfm_f_bins / $rfm_m_bins values <= the value; R scores 1 + the number of $rfm_r_bins
--     values >= recency_days (recency up to the first threshold: 5).
--   rfm_bins = 'quantile', rfm_ties = 'cume_dist' (SPEC's first rule): ceil(5 × cume_dist),
--     a tie group taking the score of the last of its clients: edge j is the first group whose
--     cum / n exceeds j/5.
--   rfm_bins = 'quantile', rfm_ties = 'dense' (the default): a tie group goes by its middle
--     client: b0_j is the first group with (cum - n_k/2) / n >= j/5; with K >= 5 groups the
--     edges are then pushed apart so that each score has at least one group:
--     b_j = min(max(b0_i + j - i for i = 0..j, b0_0 = 1), K - 4 + j); with fewer groups b0_j.
CREATE TABLE rfm_edge AS
WITH
j AS (SELECT * FROM (VALUES (1), (2), (3), (4)) AS t(j)),
dims AS (SELECT DISTINCT dim, n, kk FROM rfm_group),
-- per group: how many edges j its client position passes (0..4), by each rule
passed AS (
    SELECT dim, d,
        CAST(least(4, floor((10.0 * cum - 5.0 * n_k) / (2.0 * n))) AS BIGINT) AS e_mid,
        CAST(least(4, ceil(5.0 * cum / n) - 1) AS BIGINT) AS e_cume
    FROM rfm_group
),
-- the first group passing each count of edges, then per edge j the first group passing j
passed_first AS (
    SELECT dim, e_mid AS e, min(d) AS d_mid, CAST(NULL AS BIGINT) AS d_cume FROM passed GROUP BY dim, e_mid
    UNION ALL
    SELECT dim, e_cume AS e, CAST(NULL AS BIGINT) AS d_mid, min(d) AS d_cume FROM passed GROUP BY dim, e_cume
),
b0 AS (
    SELECT x.dim, j.j, x.kk,
        coalesce(min(p.d_mid), x.kk + 1) AS b_mid,
        coalesce(min(p.d_cume), x.kk + 1) AS b_cume
    FROM dims x
    CROSS JOIN j
    LEFT JOIN passed_first p ON p.dim = x.dim AND p.e >= j.j
    GROUP BY x.dim, j.j, x.kk
),
spread AS (
    SELECT b.dim, b.j,
        CASE
            WHEN b.kk >= 5 THEN least(greatest(1 + b.j, max(i.b_mid + b.j - i.j)), b.kk - 4 + b.j)
            ELSE b.b_mid
        END AS b_dense,
        b.b_cume
    FROM b0 b
    JOIN b0 i ON i.dim = b.dim AND i.j <= b.j
    GROUP BY b.dim, b.j, b.kk, b.b_mid, b.b_cume
),
quantile AS (
    SELECT s.dim, s.j, coalesce(g.k, CAST('Infinity' AS DOUBLE)) AS edge
    FROM spread s
    LEFT JOIN rfm_group g
      ON g.dim = s.dim
     AND g.d = CASE WHEN $rfm_ties::VARCHAR = 'cume_dist' THEN s.b_cume ELSE s.b_dense END
),
fixed AS (
    SELECT 'R' AS dim, -CAST(t AS DOUBLE) AS edge FROM (SELECT unnest($rfm_r_bins::VARCHAR[]) AS t) r
    UNION ALL
    SELECT 'F' AS dim, CAST(t AS DOUBLE) AS edge FROM (SELECT unnest($rfm_f_bins::VARCHAR[]) AS t) f
    UNION ALL
    SELECT 'M' AS dim, CAST(t AS DOUBLE) AS edge FROM (SELECT unnest($rfm_m_bins::VARCHAR[]) AS t) m
)
SELECT dim, edge FROM quantile WHERE $rfm_bins::VARCHAR <> 'fixed'
UNION ALL
SELECT dim, edge FROM fixed WHERE $rfm_bins::VARCHAR = 'fixed';

-- The score of every tie group.
CREATE TABLE rfm_group_score AS
SELECT g.dim, g.k, g.n_k,
    1 + CAST(count(e.edge) AS BIGINT) AS score
FROM rfm_group g
LEFT JOIN rfm_edge e ON e.dim = g.dim AND e.edge <= g.k
GROUP BY g.dim, g.k, g.n_k;

CREATE TABLE rfm_client AS
WITH
scored AS (
    SELECT v.client_pid, v.branch, v.recency_days, v.frequency, v.monetary,
        sr.score AS r, sf.score AS f, sm.score AS m
    FROM rfm_value v
    JOIN rfm_group_score sr ON sr.dim = 'R' AND sr.k = -CAST(v.recency_days AS DOUBLE)
    JOIN rfm_group_score sf ON sf.dim = 'F' AND sf.k = CAST(v.frequency AS DOUBLE)
    JOIN rfm_group_score sm ON sm.dim = 'M' AND sm.k = CAST(v.monetary AS DOUBLE)
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

