# report.py — a log report: every line of stdin matched by a regular
# expression, counts per level, per status and per path, the slowest
# requests (perf/realworld/run.sh)
import re
import sys
from collections import Counter

pat = re.compile(r"level=(\w+) path=(\S+)/(\d+) status=(\d+) ms=(\d+)")
levels, statuses, paths = Counter(), Counter(), Counter()
slow = []
n = 0
for line in sys.stdin:
    m = pat.search(line)
    if not m:
        continue
    n += 1
    level, path, _, status, ms = m.groups()
    levels[level] += 1
    statuses[status] += 1
    paths[path] += 1
    if int(ms) >= 1190:
        slow.append((int(ms), line[:23]))
print("lines", n)
for name, c in (("level", levels), ("status", statuses), ("path", paths)):
    for k, v in sorted(c.items()):
        print(name, k, v)
slow.sort(reverse=True)
for ms, when in slow[:10]:
    print("slow", ms, when)
