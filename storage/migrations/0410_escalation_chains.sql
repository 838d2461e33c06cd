-- Escalation chains edited on the console (alerts.chain_store): one row per
-- (scope, priority) whose chain replaces the declared default, with who set
-- it, when and why. A row without escalation_steps is a chain of no steps
-- (e.g. a ward that escalates medium alarms to no one); without this row an
-- empty chain could not be told apart from "not configured".
CREATE TABLE escalation_chains (
    scope     text NOT NULL,
    priority  text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    set_by    text NOT NULL,
    set_at    timestamptz NOT NULL DEFAULT now(),
    reason    text NOT NULL CHECK (length(reason) > 0),
    PRIMARY KEY (scope, priority)
);

-- Chains configured before this table existed keep applying, now with a header.
INSERT INTO escalation_chains (scope, priority, set_by, reason)
SELECT DISTINCT scope, priority, 'migration-0410', 'configured before chain headers existed'
FROM escalation_steps;
