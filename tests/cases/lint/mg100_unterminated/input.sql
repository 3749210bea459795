CREATE TABLE IF NOT EXISTS ok (a INT);
-- the last statement lacks its semicolon
CREATE TABLE IF NOT EXISTS broken (a INT)
-- trailing comment
