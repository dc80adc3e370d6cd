-- @title Network benchmarks of a portfolio: each club's figures with its rank, and per metric and period the network's p25 / median / p75 / best (issue 12 §1)
--
-- Not an analysis of one bundle: `clm-analyze portfolio` runs segmentation and metrics on
-- every club alone (each club's own bundles, its own keys), and registers the figures as the
-- in-memory table
--
--   portfolio_figures(club VARCHAR, metric VARCHAR, grain VARCHAR, period_start DATE, value DOUBLE)
--
-- one row per club, metric and period: the stage shares of the base at D (metric
-- `stage_share:<stage>`, grain `as_of`, period_start = D) and the §5.2 period metrics of the
-- scope `(all)` (grain `month` and `quarter`). A figure the club's run left empty (a rate
-- with no denominator, a table the club's bundles lack) is NULL and counts nowhere.
--
-- Parameters: $min_clubs (5: a statistic, a rank, is shown only when at least this many
-- clubs have a value), $for_club (the club whose own view `club_network` shows).
--
-- Rules, one definition each:
-- * better: `lower` for the metrics of lower_is_better.sql (churn_rate, inactive_share and the
--   shares of the stages a club wants few clients in), `higher` for every other metric: the
--   same definition targets.sql uses.
-- * percentiles: linear interpolation between order statistics (numpy's default, R type 7,
--   DuckDB's quantile_cont): with the n values sorted x_1 <= ... <= x_n and h = (n - 1) p,
--   q(p) = x_(floor h + 1) + (h - floor h) (x_(floor h + 2) - x_(floor h + 1)).
-- * best: the highest value, or the lowest where lower is better.
-- * rank: 1 = best; clubs with equal values share a rank and the next rank skips (1, 1, 3).
--   clubs_in_rank: how many clubs have a value.
-- * fewer than $min_clubs clubs with a value: p25, median, p75, best and every rank are NULL,
--   and note says `withheld: fewer than 5 clubs`.

-- @include lower_is_better.sql
-- Each figure with its period's label (2026-10, 2026-Q3, or the date D) and direction.
CREATE VIEW pf_figure AS
SELECT
    f.club,
    f.metric,
    f.grain,
    f.period_start,
    CASE f.grain
        WHEN 'month' THEN to_char(period_start, '%Y-%m')
        WHEN 'quarter' THEN concat(to_char(period_start, '%Y'), '-Q',
                                   CAST(CAST(date_part('quarter', period_start) AS BIGINT) AS VARCHAR))
        WHEN 'week' THEN to_char(period_start, '%G-W%V')
        ELSE to_char(period_start, '%Y-%m-%d')
    END AS period,
    CASE WHEN lb.metric IS NOT NULL THEN 'lower' ELSE 'higher' END AS better,
    CASE WHEN isnan(f.value) THEN NULL ELSE f.value END AS value
FROM portfolio_figures f
LEFT JOIN lower_is_better lb ON lb.metric = f.metric;

-- The clubs with a value, ordered within each metric and period: k (1..n, ascending value)
-- for the percentiles, rank (1 = best) for the clubs.
CREATE TABLE pf_ranked AS
SELECT
    club,
    metric,
    grain,
    period_start,
    better,
    value,
    row_number() OVER (PARTITION BY metric, grain, period_start ORDER BY value, club) AS k,
    count(*) OVER (PARTITION BY metric, grain, period_start) AS n,
    rank() OVER (PARTITION BY metric, grain, period_start
                 ORDER BY CASE WHEN better = 'lower' THEN value ELSE -value END) AS rank
FROM pf_figure
WHERE value IS NOT NULL;

-- Every metric and period of the portfolio, with how many clubs have a value (0 when none).
CREATE TABLE pf_group AS
SELECT
    g.metric,
    g.grain,
    g.period_start,
    g.period,
    g.better,
    coalesce(c.n, 0) AS clubs
FROM (SELECT DISTINCT metric, grain, period_start, period, better FROM pf_figure) g
LEFT JOIN (
    SELECT metric, grain, period_start, count(*) AS n
    FROM pf_ranked
    GROUP BY metric, grain, period_start
) c ON c.metric = g.metric AND c.grain = g.grain AND c.period_start = g.period_start;

-- p25, median, p75 by linear interpolation, and best, per metric and period.
CREATE TABLE pf_stat AS
WITH
quantile AS (
    SELECT 0.25 AS p UNION ALL SELECT 0.5 UNION ALL SELECT 0.75
),
position AS (
    SELECT
        g.metric, g.grain, g.period_start, q.p,
        (g.clubs - 1) * q.p AS h,
        CAST(floor((g.clubs - 1) * q.p) AS BIGINT) + 1 AS lo
    FROM pf_group g
    CROSS JOIN quantile q
    WHERE g.clubs > 0
),
interpolated AS (
    SELECT
        pos.metric, pos.grain, pos.period_start, pos.p,
        a.value + (pos.h - (pos.lo - 1)) * (coalesce(b.value, a.value) - a.value) AS v
    FROM position pos
    JOIN pf_ranked a
      ON a.metric = pos.metric AND a.grain = pos.grain AND a.period_start = pos.period_start
     AND a.k = pos.lo
    LEFT JOIN pf_ranked b
      ON b.metric = pos.metric AND b.grain = pos.grain AND b.period_start = pos.period_start
     AND b.k = pos.lo + 1
),
extreme AS (
    SELECT metric, grain, period_start,
           CASE WHEN max(better) = 'lower' THEN min(value) ELSE max(value) END AS best
    FROM pf_ranked
    GROUP BY metric, grain, period_start
)
SELECT
    e.metric, e.grain, e.period_start,
    max(CASE WHEN i.p = 0.25 THEN i.v END) AS p25,
    max(CASE WHEN i.p = 0.5 THEN i.v END) AS median,
    max(CASE WHEN i.p = 0.75 THEN i.v END) AS p75,
    e.best
FROM extreme e
JOIN interpolated i
  ON i.metric = e.metric AND i.grain = e.grain AND i.period_start = e.period_start
GROUP BY e.metric, e.grain, e.period_start, e.best;

-- The network per metric and period, statistics withheld below $min_clubs.
CREATE TABLE pf_network AS
SELECT
    g.metric,
    g.grain,
    g.period,
    g.period_start,
    g.better,
    g.clubs,
    CASE WHEN g.clubs >= $min_clubs::BIGINT THEN s.p25 END AS p25,
    CASE WHEN g.clubs >= $min_clubs::BIGINT THEN s.median END AS median,
    CASE WHEN g.clubs >= $min_clubs::BIGINT THEN s.p75 END AS p75,
    CASE WHEN g.clubs >= $min_clubs::BIGINT THEN s.best END AS best,
    CASE WHEN g.clubs < $min_clubs::BIGINT
         THEN concat('withheld: fewer than ', CAST($min_clubs::BIGINT AS VARCHAR), ' clubs')
    END AS note
FROM pf_group g
LEFT JOIN pf_stat s
  ON s.metric = g.metric AND s.grain = g.grain AND s.period_start = g.period_start;

-- Each club's figure and rank.
CREATE TABLE pf_club AS
SELECT
    f.club,
    f.metric,
    f.grain,
    f.period,
    f.period_start,
    f.value,
    CASE WHEN n.clubs >= $min_clubs::BIGINT THEN r.rank END AS rank,
    n.clubs AS clubs_in_rank,
    n.note
FROM pf_figure f
JOIN pf_network n
  ON n.metric = f.metric AND n.grain = f.grain AND n.period_start = f.period_start
LEFT JOIN pf_ranked r
  ON r.club = f.club AND r.metric = f.metric AND r.grain = f.grain
 AND r.period_start = f.period_start;

-- Every club's figures and ranks (the consultant's view: it names every club).
-- @output clubs
SELECT club, metric, grain, period, value, rank, clubs_in_rank, note
FROM pf_club
ORDER BY club, grain <> 'as_of', grain, metric, period_start;

-- The network's distribution per metric and period (no club named).
-- @output network
SELECT metric, grain, period, better, clubs, p25, median, p75, best, note
FROM pf_network
ORDER BY grain <> 'as_of', grain, metric, period_start;

-- One club's view: the network's distribution beside that club's own figure and rank, and
-- nothing of any other club (no name, no figure). `portfolio --for-club NAME`.
-- @output club_network detail
SELECT
    n.metric, n.grain, n.period, n.better, n.clubs, n.p25, n.median, n.p75, n.best,
    c.value, c.rank, n.note
FROM pf_network n
LEFT JOIN pf_club c
  ON c.metric = n.metric AND c.grain = n.grain AND c.period_start = n.period_start
 AND c.club = $for_club::VARCHAR
ORDER BY n.grain <> 'as_of', n.grain, n.metric, n.period_start;
