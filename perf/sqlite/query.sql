PRAGMA temp_store = MEMORY;
CREATE TABLE t(a INTEGER, b TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
  INSERT INTO t SELECT x, printf('row%06d', x * 7919 % 200000) FROM c;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(a), min(b), max(b) FROM t;
SELECT a, b FROM t WHERE b BETWEEN 'row000100' AND 'row000105' ORDER BY b;
SELECT a % 7, count(*), avg(a) FROM t GROUP BY 1 ORDER BY 1;
