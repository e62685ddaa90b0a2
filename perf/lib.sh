# lib.sh — sourced by the perf scripts: what several of them compute alike.

# rate_args RECORDS ROUNDS "$@": a rate benchmark's options, [--build DIR]
# [--records N] [--rounds R], into $build (default $src/build), $n and
# $rounds (defaults RECORDS and ROUNDS); usage and exit 2 on anything else.
rate_args() {
    build=$src/build n=$1 rounds=$2
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --build) build=$(realpath "$2"); shift 2 ;;
        --records) n=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "usage: $0 [--build DIR] [--records N] [--rounds R]" >&2; exit 2 ;;
        esac
    done
}

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

# filter_vs_c NAME SHORT LABEL GOAL MODULE [OPTIONS...]: issue 24's filter
# benchmark. $rounds interleaved rounds of MODULE with OPTIONS (then
# --arg ERROR --snapshot first-read) and of the bundled C filter, on 1
# and 2 workers, over $n lines of the sample log; both must keep the same
# lines. Prints the load before and after, the medians (batch_rate_table)
# and MODULE on 2 workers against GOAL records/s and the C peer. Needs
# $zvm, $build, $src, $tmp, $n and $rounds.
filter_vs_c() {
    local name=$1 short=$2 label=$3 goal=$4 m=$5 c=$build/examples/logfilter.wasm r w
    shift 5
    yes "$(cat "$src/examples/sample.log")" 2>/dev/null | head -n "$n" > "$tmp/in.log" || true
    "$zvm" compile "$m" "$c" > /dev/null
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for r in $(seq "$rounds"); do
        for w in 1 2; do
            batch_rate "$name" "$w" "$m" "$@" --arg ERROR --snapshot first-read
            batch_rate c "$w" "$c" --arg ERROR
        done
    done
    echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
    cmp -s "$tmp/$name.out" "$tmp/c.out" || { echo "$short and C kept different lines" >&2; return 1; }
    echo "$n records ($(wc -l < "$tmp/$name.out") kept), $rounds rounds, medians:"
    batch_rate_table "$label" "$name" "logfilter.wasm (C, peer)" c
    awk -v s="$short" -v g="$goal" -v x="$(cut -d' ' -f1 "$tmp/$name.2" | median)" \
        -v c="$(cut -d' ' -f1 "$tmp/c.2" | median)" \
        'BEGIN { printf "  %s on 2 workers: %.2fx the goal (%dk/s), %.2fx the C peer\n", s, x / g, g / 1000, x / c }'
}
