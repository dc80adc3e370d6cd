-- The lifecycle stage of every client at every evaluation date, profile `auto_service` (a car
-- dealer's clients, SPEC §6). Used instead of lifecycle.sql by the profiles/auto_service.toml
-- `[queries]` table; it gives `lc_stage` the same columns, so segmentation, segments and list
-- read it unchanged.
--
-- Canonical data: a car purchase is a sale of category `vehicle` (item: the model); a service
-- visit is a row of visits (kind: maintenance, repair, ...; mileage: the odometer reading).
-- At each date d, with P the date of the client's latest vehicle purchase on or before d and
-- L the date of the latest service visit on or before d (first match wins):
--
-- 1. `repurchase_window`: P exists and the car's age at d in full months (months from P to
--    d, less one when d's day of month is before P's) is within $replacement_age_months ±
--    $repurchase_window_months — the owner is at the age when people replace their car.
-- 2. `acquired`: P exists, no service visit on or after P, and d - P < $first_service_days -
--    $service_reminder_days: the first service is not due yet.
-- 3. `first_service_due`: P exists, no service visit on or after P, and d - P <=
--    $first_service_days + $service_grace_days: the first service is due or a little late.
-- 4. `in_service`: a service visit on or after P (any, when the client bought no car here)
--    and d - L <= $service_interval_days + $service_grace_days: comes for regular service.
-- 5. `lapsed_service`: any other client who bought a car or came for service.
-- 6. `lead`: neither a vehicle purchase nor a service visit by d.
--
-- The base at d: registered on or before d (or with no registration date), less archived
-- leads (archived_on <= d and neither a purchase nor a visit by d). Flags: `at_risk` and
-- `starter_completed` do not apply (empty), nor do memberships. `has_current`: the client is
-- a current customer (stages 1-4).
--
-- @requires clients: stages are given to the clients of the bundle
-- @requires sales: vehicle purchases (category `vehicle`) start the ownership
-- @requires visits: service visits
-- @include base.sql

-- Per date and client: the latest vehicle purchase on or before d.
CREATE VIEW lc_purchase AS
SELECT e.d, s.client_pid, max(s.day) AS last_purchase
FROM eval_dates e
JOIN lc_sale s ON s.day <= e.d AND s.category = 'vehicle'
GROUP BY e.d, s.client_pid;

-- Per date and client: the latest service visit on or before d.
CREATE VIEW lc_service AS
SELECT e.d, v.client_pid, max(v.day) AS last_service
FROM eval_dates e
JOIN lc_visit_day v ON v.day <= e.d
GROUP BY e.d, v.client_pid;

CREATE VIEW lc_owner AS
SELECT
    e.d,
    c.client_pid,
    c.branch,
    c.registered_on,
    c.archived_on,
    p.last_purchase,
    s.last_service,
    -- the car's age in full months at d
    (CAST(date_part('year', e.d) AS BIGINT) * 12 + CAST(date_part('month', e.d) AS BIGINT))
        - (CAST(date_part('year', p.last_purchase) AS BIGINT) * 12
           + CAST(date_part('month', p.last_purchase) AS BIGINT))
        - CASE WHEN date_part('day', e.d) < date_part('day', p.last_purchase) THEN 1 ELSE 0 END
        AS ownership_months,
    -- a service visit since the latest purchase (or any, without a purchase)
    s.last_service IS NOT NULL
        AND (p.last_purchase IS NULL OR s.last_service >= p.last_purchase) AS serviced_since
FROM eval_dates e
CROSS JOIN lc_client c
LEFT JOIN lc_purchase p ON p.d = e.d AND p.client_pid = c.client_pid
LEFT JOIN lc_service s ON s.d = e.d AND s.client_pid = c.client_pid;

CREATE VIEW lc_stage AS
WITH staged AS (
    SELECT
        o.*,
        CASE
            -- 1. the car is at the typical replacement age, ± the window
            WHEN o.last_purchase IS NOT NULL
                 AND o.ownership_months BETWEEN $replacement_age_months::BIGINT - $repurchase_window_months::BIGINT
                                            AND $replacement_age_months::BIGINT + $repurchase_window_months::BIGINT
                THEN 'repurchase_window'
            -- 2. bought, first service not due yet
            WHEN o.last_purchase IS NOT NULL AND NOT o.serviced_since
                 AND o.d - o.last_purchase < $first_service_days::BIGINT - $service_reminder_days::BIGINT
                THEN 'acquired'
            -- 3. bought, first service due (or a little late)
            WHEN o.last_purchase IS NOT NULL AND NOT o.serviced_since
                 AND o.d - o.last_purchase <= $first_service_days::BIGINT + $service_grace_days::BIGINT
                THEN 'first_service_due'
            -- 4. serviced since the purchase, within the interval and its grace
            WHEN o.serviced_since
                 AND o.d - o.last_service <= $service_interval_days::BIGINT + $service_grace_days::BIGINT
                THEN 'in_service'
            -- 5. a customer who stopped coming
            WHEN o.last_purchase IS NOT NULL OR o.last_service IS NOT NULL THEN 'lapsed_service'
            -- 6. no purchase, no service
            ELSE 'lead'
        END AS stage
    FROM lc_owner o
    WHERE (o.registered_on IS NULL OR o.registered_on <= o.d)
      AND NOT (coalesce(o.archived_on <= o.d, false)
               AND o.last_purchase IS NULL AND o.last_service IS NULL)
)
SELECT
    d,
    client_pid,
    branch,
    stage,
    stage NOT IN ('lapsed_service', 'lead') AS has_current,
    CAST(NULL AS BOOLEAN) AS starter_completed,
    CAST(NULL AS BOOLEAN) AS at_risk,
    CAST(NULL AS VARCHAR) AS membership_pid,
    CAST(NULL AS DATE) AS membership_start,
    CAST(NULL AS DATE) AS membership_effective_end
FROM staged;
