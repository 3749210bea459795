INSERT INTO policies (name, rule) VALUES ('default', 'deny');
INSERT INTO policies (name, rule) SELECT name, rule FROM old_policies;
WITH seed(name) AS (SELECT 'x') INSERT INTO policies (name) SELECT name FROM seed;
INSERT INTO counters (k, n) VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET n = n + 1;
INSERT INTO t (a) VALUES ('ON CONFLICT DO NOTHING');
