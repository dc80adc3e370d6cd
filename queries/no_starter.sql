-- No starter package outside fitness clubs (SPEC §5.1's `starter_completed`): the views the
-- period metrics (metrics_core.sql) read about it, empty. Not an analysis: included by the
-- lifecycle files of the profiles that have no starter package.

CREATE VIEW lc_starter_offer AS
SELECT CAST(NULL AS VARCHAR) AS service, CAST(NULL AS VARCHAR) AS department
WHERE false;

CREATE VIEW lc_starter_window AS
SELECT CAST(NULL AS VARCHAR) AS client_pid, CAST(NULL AS VARCHAR) AS service, CAST(NULL AS DATE) AS day
WHERE false;
