#!/bin/bash
# Verifier for reqstats: run it on log fixtures and compare each report with the expected
# table. The reward is written whatever happens; only the reward file judges.
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt

fixtures=/tests/fixtures
work=$(mktemp -d)
# Older days as logrotate leaves them: gzip-compressed.
gzip -n -c "$fixtures/day2.log" > "$work/access.log.2.gz"
gzip -n -c "$fixtures/day3.log" > "$work/access.log.3.gz"

failures=0
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}

# check NAME EXPECTED_FILE COMMAND...: the command must succeed and print EXPECTED_FILE.
check() {
    local name=$1 expected=$2
    shift 2
    local actual="$work/$name.out"
    "$@" > "$actual" 2> "$work/$name.err"
    local status=$?
    if [ "$status" -ne 0 ]; then
        fail "$name: exit status $status: $(head -c 300 "$work/$name.err")"
    elif diff -u "$expected" "$actual"; then
        echo "PASS $name"
    else
        fail "$name: report differs from the expected one (diff above)"
    fi
}

reqstats=/app/bin/reqstats
cd "$work"
check busiest_endpoints_first "$fixtures/day1.expected" "$reqstats" "$fixtures/day1.log"
check top_n_rows "$fixtures/day1.top3.expected" "$reqstats" -n 3 "$fixtures/day1.log"
check rotated_gzip_log "$fixtures/day2.expected" "$reqstats" "$work/access.log.2.gz"
check plain_and_gzip_logs_together "$fixtures/all.expected" \
    "$reqstats" "$fixtures/day1.log" "$work/access.log.2.gz" "$work/access.log.3.gz"

"$reqstats" "$work/no-such.log" > /dev/null 2>&1
status=$?
if [ "$status" -eq 1 ]; then
    echo "PASS unreadable_log_is_an_error"
else
    fail "unreadable_log_is_an_error: exit status $status, expected 1"
fi

if [ "$failures" -eq 0 ]; then
    echo 1 > /logs/verifier/reward.txt
else
    echo 0 > /logs/verifier/reward.txt
fi
echo "$failures failed; reward: $(cat /logs/verifier/reward.txt)"
