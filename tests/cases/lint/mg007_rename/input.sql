ALTER TABLE policies RENAME TO policies_old;
ALTER TABLE jobs RENAME COLUMN state TO status;
ALTER TABLE jobs RENAME kind TO type;
-- noqa: MG007 table rebuild, atomic inside this migration's transaction
ALTER TABLE policies_new RENAME TO policies;
