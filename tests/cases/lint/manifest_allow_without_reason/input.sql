ALTER TABLE policies_new RENAME TO policies;
