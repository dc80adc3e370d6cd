-- The metrics where a lower value is better, one definition: targets.sql takes it as a target's
-- default `better`, portfolio_network.sql for the network's best and the clubs' ranks. Not an
-- analysis: included by those files. churn_rate and inactive_share (§5.2), and the shares of
-- the stages a club wants few clients in: fitness's inactive, lapsed and former, and the
-- profiles' archived, lapsed_service, at_risk and churned (portfolio metric stage_share:STAGE).
-- Every other metric is better higher.
CREATE VIEW lower_is_better AS
SELECT column1 AS metric
FROM (VALUES ('churn_rate'), ('inactive_share'),
             ('stage_share:inactive'), ('stage_share:lapsed'), ('stage_share:former'),
             ('stage_share:archived'), ('stage_share:lapsed_service'),
             ('stage_share:at_risk'), ('stage_share:churned')) t;
