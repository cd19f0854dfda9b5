#!/bin/bash
# Verifier for reqstats: run it on log fixtures and compare each report with the expected
# table. The reward is written whatever happens; only the reward file judges.
#
# Under Harbor nothing undoes what the agent did to the image before this runs, so the
# verdict relies on nothing the agent could have planted: a fixed PATH, the rotated logs
# shipped already compressed (a stubbed gzip cannot hand reqstats plain text named .gz),
# reports compared with bash alone (no diff or cmp to stub), and the reward needs every
# check to have run and passed, counted here.
PATH=/usr/bin:/bin
export PATH
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
# Zero until the evidence says otherwise, so a verifier that breaks half-way still judges.
echo 0 > /logs/verifier/reward.txt

expected_passes=5
fixtures=/tests/fixtures
work=$(mktemp -d) && cd "$work" || exit 0
trap 'rm -rf "$work"' EXIT
# Older days as logrotate leaves them: gzip-compressed.
cp "$fixtures/day2.log.gz" "$work/access.log.2.gz" || exit 0
cp "$fixtures/day3.log.gz" "$work/access.log.3.gz" || exit 0

passes=0
failures=0
pass() {
    echo "PASS $1"
    passes=$((passes + 1))
}
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}

# The whole of a file, trailing newlines included (read stops only at a NUL byte).
slurp() {
    IFS= read -r -d '' "$1" < "$2"
}

# Text for the log, in $REPLY: bytes other than printable ones, tabs and newlines as "?".
printable() {
    local LC_ALL=C
    REPLY=${1//[^[:print:]$'\t\n']/?}
}

# check NAME EXPECTED_FILE COMMAND...: the command must succeed and print EXPECTED_FILE.
check() {
    local name=$1 expected=$2 want got err
    shift 2
    "$@" > "$work/$name.out" 2> "$work/$name.err"
    local status=$?
    slurp want "$expected"
    slurp got "$work/$name.out"
    slurp err "$work/$name.err"
    if [ "$status" -ne 0 ]; then
        printable "${err:0:300}"
        fail "$name: exit status $status: $REPLY"
    elif [[ $got == "$want" ]]; then
        pass "$name"
    else
        printable "$got"
        printf -- '--- expected\n%s--- actual\n%s---\n' "$want" "$REPLY"
        fail "$name: report differs from the expected one (both above)"
    fi
}

reqstats=/app/bin/reqstats
check busiest_endpoints_first "$fixtures/day1.expected" "$reqstats" "$fixtures/day1.log"
check top_n_rows "$fixtures/day1.top3.expected" "$reqstats" -n 3 "$fixtures/day1.log"
check rotated_gzip_log "$fixtures/day2.expected" "$reqstats" "$work/access.log.2.gz"
check plain_and_gzip_logs_together "$fixtures/all.expected" \
    "$reqstats" "$fixtures/day1.log" "$work/access.log.2.gz" "$work/access.log.3.gz"

"$reqstats" "$work/no-such.log" > /dev/null 2>&1
status=$?
if [ "$status" -eq 1 ]; then
    pass unreadable_log_is_an_error
else
    fail "unreadable_log_is_an_error: exit status $status, expected 1"
fi

if [ "$failures" -eq 0 ] && [ "$passes" -eq "$expected_passes" ]; then
    echo 1 > /logs/verifier/reward.txt
fi
echo "$passes passed, $failures failed (expected $expected_passes passed);" \
    "reward: $(<"/logs/verifier/reward.txt")"
