ALTER TABLE policies_new RENAME TO policies;
DROP TABLE policies_old;
