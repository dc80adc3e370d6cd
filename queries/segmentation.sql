-- @title Lifecycle stage of every client at D with flags; counts and shares of the base per stage, overall and per branch (SPEC §5.1)
-- @requires clients: the base is the clients table
-- (the tables the stage rules read are declared by the lifecycle file: lifecycle.sql, or the
-- one the profile's [queries] names instead)
--
-- Parameters: $as_of (D), the §5.1 parameters of the profile, and $stage_order (the order
-- in which the summary lists the stages).

-- Stages are wanted at D only.
CREATE VIEW eval_dates AS
SELECT $as_of::DATE AS d;

-- @include lifecycle.sql
-- The stage of every client at D, computed once; both outputs select from it.
CREATE TABLE seg_client AS
SELECT * FROM lc_stage;

-- Count and share of the base per stage: the whole base (branch `(all)`) and per branch of
-- the clients table (`(none)` for clients without one). Every stage of the profile is
-- listed, with 0 where no client is in it; shares of a branch add up to 1.
-- @output stages
WITH scoped AS (
    SELECT '(all)' AS branch, stage, starter_completed, at_risk FROM seg_client
    UNION ALL
    SELECT coalesce(branch, '(none)'), stage, starter_completed, at_risk FROM seg_client
),
base AS (
    SELECT branch, count(*) AS base FROM scoped GROUP BY branch
),
stage_list AS (
    SELECT stage, array_position($stage_order::VARCHAR[], stage) AS ord
    FROM (SELECT unnest($stage_order::VARCHAR[]) AS stage) s
    UNION
    -- a stage the profile does not name still shows (last), so the shares add up
    SELECT DISTINCT stage, 1000 AS ord
    FROM seg_client
    WHERE NOT array_has($stage_order::VARCHAR[], stage)
),
counted AS (
    SELECT
        b.branch,
        l.stage,
        l.ord,
        count(s.stage) AS clients,
        b.base,
        sum(CASE WHEN s.at_risk THEN 1 ELSE 0 END) AS at_risk,
        sum(CASE WHEN s.starter_completed THEN 1 ELSE 0 END) AS starter_completed
    FROM base b
    CROSS JOIN stage_list l
    LEFT JOIN scoped s ON s.branch = b.branch AND s.stage = l.stage
    GROUP BY b.branch, b.base, l.stage, l.ord
)
SELECT
    branch,
    stage,
    clients,
    CAST(clients AS DOUBLE) / base AS share,
    base,
    at_risk,
    starter_completed
FROM counted
-- (`branch || ''`, not `branch`: DataFusion 55 takes the plain column for a unique key of
-- this result, through the cross join, and drops the sort keys after it)
ORDER BY branch <> '(all)', branch || '', ord, stage;

-- The per-client list the club acts on: stage, flags and the current membership.
-- @output clients detail
SELECT
    client_pid,
    branch,
    stage,
    starter_completed,
    at_risk,
    membership_pid,
    membership_start,
    membership_effective_end
FROM seg_client
ORDER BY coalesce(array_position($stage_order::VARCHAR[], stage), 1000), branch, client_pid;
