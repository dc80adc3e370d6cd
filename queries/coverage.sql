-- @title Data coverage: which tables the bundle holds, their rows, clients and the dates they cover
-- @requires clients: every other table is counted against the clients table
-- @optional memberships: listed as absent
-- @optional visits: listed as absent
-- @optional services: listed as absent
-- @optional sales: listed as absent
-- @optional feedback: listed as absent
--
-- One row per canonical table: present (the bundle has it: $tables_present, bound by
-- clm-analyze), rows, distinct clients, rows whose client is empty or not in the clients table
-- (left out of every analysis, SPEC §5.0), and the first and last date of the table's date
-- column (`date_column`: registered_on, start_date, visited_at, done_at, sold_at, answered_on;
-- timestamps by their date), and how many of its dates fall after D. For memberships the
-- dates are start dates; their ends run further: `last_end_date` is the latest effective end
-- (end_date + freeze_days, SPEC §5.0) and `rows_ending_after_as_of` counts the memberships
-- whose effective end is after D (sold and started by D, running on after it, or bought in
-- advance for a start after D). Both are empty for the other tables.

-- @output tables
WITH
known AS (
    SELECT client_pid FROM clients WHERE client_pid IS NOT NULL AND trim(client_pid) <> ''
),
facts AS (
    SELECT 1 AS ord, 'clients' AS table_name, client_pid, registered_on AS day,
           CAST(NULL AS DATE) AS end_day
    FROM clients
    UNION ALL
    -- (freeze_days cast to INTEGER: DuckDB adds only INTEGER days to a DATE, see the bench)
    SELECT 2, 'memberships', client_pid, start_date,
           end_date + CAST(coalesce(freeze_days, 0) AS INTEGER)
    FROM memberships
    UNION ALL
    SELECT 3, 'visits', client_pid, CAST(visited_at AS DATE), CAST(NULL AS DATE) FROM visits
    UNION ALL
    SELECT 4, 'services', client_pid, CAST(done_at AS DATE), CAST(NULL AS DATE) FROM services
    UNION ALL
    SELECT 5, 'sales', client_pid, CAST(sold_at AS DATE), CAST(NULL AS DATE) FROM sales
    UNION ALL
    SELECT 6, 'feedback', client_pid, answered_on, CAST(NULL AS DATE) FROM feedback
),
names AS (
    SELECT * FROM (VALUES
        (1, 'clients', 'registered_on'), (2, 'memberships', 'start_date'),
        (3, 'visits', 'visited_at'), (4, 'services', 'done_at'), (5, 'sales', 'sold_at'),
        (6, 'feedback', 'answered_on')
    ) AS t(ord, table_name, date_column)
),
counted AS (
    SELECT
        f.ord,
        count(*) AS rows_total,
        count(DISTINCT k.client_pid) AS clients,
        sum(CASE WHEN k.client_pid IS NULL THEN 1 ELSE 0 END) AS rows_unknown_client,
        min(f.day) AS first_date,
        max(f.day) AS last_date,
        sum(CASE WHEN f.day > $as_of::DATE THEN 1 ELSE 0 END) AS rows_after_as_of,
        max(f.end_day) AS last_end_date,
        sum(CASE WHEN f.end_day > $as_of::DATE THEN 1 ELSE 0 END) AS rows_ending_after_as_of
    FROM facts f
    LEFT JOIN known k ON k.client_pid = f.client_pid
    GROUP BY f.ord
)
SELECT
    n.table_name,
    array_has($tables_present::VARCHAR[], n.table_name) AS present,
    coalesce(c.rows_total, 0) AS rows,
    coalesce(c.clients, 0) AS clients,
    coalesce(c.rows_unknown_client, 0) AS rows_unknown_client,
    c.first_date,
    c.last_date,
    coalesce(c.rows_after_as_of, 0) AS rows_after_as_of,
    n.date_column,
    c.last_end_date,
    CASE WHEN n.table_name = 'memberships' THEN coalesce(c.rows_ending_after_as_of, 0) END
        AS rows_ending_after_as_of
FROM names n
LEFT JOIN counted c ON c.ord = n.ord
ORDER BY n.ord;
