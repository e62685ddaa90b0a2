# lib.sh — sourced by the perf scripts: what several of them compute alike.

# median: of the numbers on stdin, one a line (the mean of the middle two
# for an even count).
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
