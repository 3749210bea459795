DROP TABLE legacy_jobs;
DROP INDEX idx_old;
DROP VIEW v_old;
DROP TRIGGER tr_old;
drop table if exists fine;
