PRAGMA foreign_keys = OFF;
CREATE TABLE IF NOT EXISTS t (a INT);
PRAGMA foreign_keys=ON;
