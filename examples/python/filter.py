# filter.py — a log filter in stock Python: keeps the lines that match its
# first argument, a regular expression (default ERROR), as
# examples/logfilter.c and examples/lua/filter.lua do. Under
# `zvm batch --snapshot first-read` each record (one line) starts from the
# interpreter as it was at its first read of stdin: `re` is imported and
# the pattern compiled once, before the fork point, not per record.
import re
import sys

pattern = re.compile(sys.argv[1] if len(sys.argv) > 1 else "ERROR")
for line in sys.stdin:
    if pattern.search(line):
        sys.stdout.write(line)
