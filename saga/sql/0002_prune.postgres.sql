-- Pruning finished sagas (Orchestrator.Prune) deletes their commands by saga.
CREATE INDEX saga_commands_saga ON saga_commands (saga_id);
