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

# batch_rate NAME WORKERS MODULE [OPTIONS...]: one `zvm batch` of
# $tmp/in.log into $tmp/NAME.out; its records/s and CPU us per record
# (--stats json) appended to $tmp/NAME.WORKERS. Needs $zvm and $tmp.
batch_rate() {
    local name=$1 w=$2 m=$3
    shift 3
    "$zvm" batch --module "$m" --input "$tmp/in.log" --output "$tmp/$name.out" \
        --workers "$w" --stats json --no-progress "$@" 2> "$tmp/sum.json"
    sed 's/.*"records_per_second": \([0-9.e+]*\).*"cpu_us_per_record": \([0-9.e+]*\).*/\1 \2/' \
        "$tmp/sum.json" >> "$tmp/$name.$w"
}

# batch_rate_table LABEL NAME [LABEL NAME...]: the medians of batch_rate's
# runs on 1 and 2 workers, their ratio and CPU per record on 2, a line each.
batch_rate_table() {
    local one two cpu
    printf '  %-34s %12s %12s %14s\n' filter "1 worker/s" "2 workers/s" "2 vs 1"
    while [ $# -ge 2 ]; do
        one=$(cut -d' ' -f1 "$tmp/$2.1" | median) two=$(cut -d' ' -f1 "$tmp/$2.2" | median)
        cpu=$(cut -d' ' -f2 "$tmp/$2.2" | median)
        printf '  %-34s %12.0f %12.0f %13.2fx   (%.2f us CPU per record on 2)\n' \
            "$1" "$one" "$two" "$(awk -v a="$two" -v b="$one" 'BEGIN { print a / b }')" "$cpu"
        shift 2
    done
}
