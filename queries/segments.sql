-- @title The list the club acts on: every client's stage and flags at D, RFM segment, and the profile's recommended action for the stage (SPEC §5.1, §5.4)
-- @requires clients: the list is of the clients of the bundle
-- (the tables the stage rules read are declared by the lifecycle file: lifecycle.sql, or the
-- one the profile's [queries] names instead)
-- @optional sales: RFM monetary scores are all alike
--
-- One row per client of the base at D (the same clients and stages as segmentation.sql's
-- `clients` output). flags: the flags that hold, space-separated (`at_risk`,
-- `starter_completed`). rfm_segment: the §5.4 segment, empty for clients without an event in
-- the RFM window. recommended_action: the profile's action for the stage ([actions] of the
-- profile, in the language of the run: $stage_actions, aligned with $stage_order).

-- Stages are wanted at D only.
CREATE VIEW eval_dates AS
SELECT $as_of::DATE AS d;

-- @include lifecycle.sql
CREATE TABLE sg_stage AS
SELECT * FROM lc_stage;

-- @include rfm_core.sql
-- @output segments
SELECT
    s.client_pid,
    s.branch,
    s.stage,
    trim(concat(
        CASE WHEN s.at_risk THEN 'at_risk ' ELSE '' END,
        CASE WHEN s.starter_completed THEN 'starter_completed' ELSE '' END
    )) AS flags,
    s.at_risk,
    s.starter_completed,
    r.segment AS rfm_segment,
    r.r,
    r.f,
    r.m,
    array_element(
        $stage_actions::VARCHAR[],
        CAST(array_position($stage_order::VARCHAR[], s.stage) AS BIGINT)
    ) AS recommended_action
FROM sg_stage s
LEFT JOIN rfm_client r ON r.client_pid = s.client_pid
ORDER BY coalesce(array_position($stage_order::VARCHAR[], s.stage), 1000), s.branch, s.client_pid;
