# strings.py — strings, dicts and JSON: sys.argv[1] rounds of building
# records, formatting, encoding them as JSON and reading them back
# (perf/realworld/run.sh)
import json
import sys

total = 0
digest = 0
for r in range(int(sys.argv[1])):
    rows = [{"id": r * 16 + i, "name": f"user-{r:05d}-{i:02d}", "tags": ["a", "b" * (i % 5)],
             "score": (r * 31 + i * 7) % 1000 / 8} for i in range(16)]
    text = json.dumps(rows, sort_keys=True)
    back = json.loads(text)
    line = "|".join(f"{x['name'].upper()}:{x['score']:.2f}" for x in back)
    total += len(text) + len(line.replace("USER", "u").split(":"))
    digest = (digest * 131 + sum(map(ord, line[-24:]))) % 1000000007
print(total, digest)
