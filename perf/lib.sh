# lib.sh — sourced by the perf scripts: what several of them compute alike.

# median: of the numbers on stdin, one a line (the mean of the middle two
# for an even count).
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# log_records DIR N: DIR/records.txt, 1000 log lines of 100 bytes (1 in 10
# an ERROR: perf/peers.sh's records), and DIR/input.txt, N of them.
log_records() {
  local i lvl
  for i in $(seq 1 1000); do
    lvl=INFO; [ $((i % 10)) = 0 ] && lvl=ERROR
    printf '2023-11-14T22:13:%02dZ %-5s search request %06d served in %03d ms by node-7 of the cluster, all fine\n' \
      $((i % 60)) $lvl $i $((i % 1000))
  done | cut -c1-99 > "$1/records.txt"
  for _ in $(seq 1 $(( ($2 + 999) / 1000 ))); do cat "$1/records.txt"; done | head -n "$2" > "$1/input.txt"
}
