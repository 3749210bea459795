-- 041 orphaned data cleanup
-- CortexPrism ran for a long time without PRAGMA foreign_keys=ON, so rows whose parent was
-- deleted survived. Apply what the foreign keys say (CASCADE: delete; SET NULL: clear).
-- NOT EXISTS rather than NOT IN: a NULL in the subquery would make NOT IN match nothing.
-- Every statement is a no-op on a second run.

UPDATE sessions SET parent_session_id = NULL
 WHERE parent_session_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM sessions AS p WHERE p.id = sessions.parent_session_id);

DELETE FROM turns WHERE NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = turns.session_id);

UPDATE jobs SET session_id = NULL
 WHERE session_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = jobs.session_id);

DELETE FROM job_runs WHERE NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.id = job_runs.job_id);

UPDATE job_runs SET node_id = NULL
 WHERE node_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM nodes AS n WHERE n.id = job_runs.node_id);

UPDATE file_edit_log SET session_id = NULL
 WHERE session_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = file_edit_log.session_id);

DELETE FROM node_labels WHERE NOT EXISTS (SELECT 1 FROM nodes AS n WHERE n.id = node_labels.node_id);

DELETE FROM node_policies
 WHERE NOT EXISTS (SELECT 1 FROM nodes AS n WHERE n.id = node_policies.node_id)
    OR NOT EXISTS (SELECT 1 FROM policy_rules AS r WHERE r.id = node_policies.rule_id);

DELETE FROM service_dependencies
 WHERE NOT EXISTS (SELECT 1 FROM services AS s WHERE s.id = service_dependencies.service_id)
    OR NOT EXISTS (SELECT 1 FROM services AS s WHERE s.id = service_dependencies.depends_on);

-- channel_sessions before channel_messages: messages of a removed conversation go too.
DELETE FROM channel_sessions WHERE NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = channel_sessions.session_id);

DELETE FROM channel_messages
 WHERE NOT EXISTS (SELECT 1 FROM channel_sessions AS c WHERE c.id = channel_messages.channel_session_id);

DELETE FROM memori_checkpoints WHERE NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = memori_checkpoints.session_id);

DELETE FROM mqm_task_scores WHERE NOT EXISTS (SELECT 1 FROM mqm_models AS m WHERE m.id = mqm_task_scores.model_id);

-- Superseded index: idx_jobs_due (007) leads with status and serves every status lookup.
DROP INDEX IF EXISTS idx_jobs_status;

-- Obsolete table: 031 copied every job_history row into job_runs, which replaced it.
-- noqa: MG010 job_history is superseded by job_runs; 031 copied all of its rows there
DROP TABLE IF EXISTS job_history;
