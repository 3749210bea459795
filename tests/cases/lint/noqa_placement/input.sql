-- noqa: MG001 the line above counts
CREATE TABLE a (x INT);
CREATE TABLE b ( -- noqa: MG001 any line of the statement counts
    x INT
);
CREATE TABLE c (
    x INT
); -- noqa: MG001 a trailing comment after the ';' counts
DROP TABLE d; -- noqa: MG005 belongs to d, not to e below
DROP TABLE e;
/* noqa: MG005,MG007 two codes, one reason */ DROP TABLE f;
-- noqa: MG001 too far away

CREATE TABLE g (x INT);
CREATE TABLE h (x INT); -- NOQA: mg001 - case does not matter
