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
-- column (registered_on, start_date, visited_at, done_at, sold_at, answered_on; timestamps
-- by their date), and how many of its dates fall after D.

-- @output tables
WITH
known AS (
    SELECT client_pid FROM clients WHERE client_pid IS NOT NULL AND trim(client_pid) <> ''
),
facts AS (
    SELECT 1 AS ord, 'clients' AS table_name, client_pid, registered_on AS day FROM clients
    UNION ALL
    SELECT 2, 'memberships', client_pid, start_date FROM memberships
    UNION ALL
    SELECT 3, 'visits', client_pid, CAST(visited_at AS DATE) FROM visits
    UNION ALL
    SELECT 4, 'services', client_pid, CAST(done_at AS DATE) FROM services
    UNION ALL
    SELECT 5, 'sales', client_pid, CAST(sold_at AS DATE) FROM sales
    UNION ALL
    SELECT 6, 'feedback', client_pid, answered_on FROM feedback
),
names AS (
    SELECT * FROM (VALUES
        (1, 'clients'), (2, 'memberships'), (3, 'visits'),
        (4, 'services'), (5, 'sales'), (6, 'feedback')
    ) AS t(ord, table_name)
),
counted AS (
    SELECT
        f.ord,
        count(*) AS rows_total,
        count(DISTINCT k.client_pid) AS clients,
        sum(CASE WHEN k.client_pid IS NULL THEN 1 ELSE 0 END) AS rows_unknown_client,
        min(f.day) AS first_date,
        max(f.day) AS last_date,
        sum(CASE WHEN f.day > $as_of::DATE THEN 1 ELSE 0 END) AS rows_after_as_of
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
    coalesce(c.rows_after_as_of, 0) AS rows_after_as_of
FROM names n
LEFT JOIN counted c ON c.ord = n.ord
ORDER BY n.ord;
