-- noqa: MG001
CREATE TABLE t1 (a INT);
CREATE TABLE IF NOT EXISTS t2 (a INT); -- noqa
CREATE TABLE IF NOT EXISTS t3 (a INT); -- noqa: rename
CREATE TABLE IF NOT EXISTS t4 (a INT); -- noqa: MG999 no such rule
CREATE TABLE IF NOT EXISTS t5 (a INT); -- noqa: MG100 cannot allow syntax errors
