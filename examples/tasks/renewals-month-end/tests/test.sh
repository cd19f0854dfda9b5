#!/bin/bash
# Verifier: run the behaviour tests against the code in /app with node's built-in test
# runner. The reward is written whatever happens; only the reward file judges.
#
# Under Harbor nothing undoes what the agent did to the image before this runs, so the
# verdict relies on nothing the agent could have planted: node is called by absolute path
# with a fixed PATH and no NODE_OPTIONS, the tests run from a fresh copy outside /tests,
# and the reward needs positive evidence, not an exit status: the TAP report node writes to
# a file in that fresh folder must count exactly the tests shipped here, all passed. A
# stubbed node writes no report.
PATH=/usr/bin:/bin
export PATH
unset NODE_OPTIONS NODE_PATH
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
# Zero until the evidence says otherwise, so a verifier that breaks half-way still judges.
echo 0 > /logs/verifier/reward.txt

# The test() calls in renewals.test.js.
expected_tests=8
node=/usr/bin/node

work=$(mktemp -d) && cd "$work" && cp /tests/renewals.test.js "$work/" || exit 0
trap 'rm -rf "$work"' EXIT
# Time zone pinned far from UTC: calendar dates must not depend on it.
TZ=Pacific/Kiritimati "$node" --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/report.tap" \
    "$work/renewals.test.js"
status=$?
cp "$work/report.tap" /logs/verifier/report.tap 2>/dev/null

# The TAP summary ("# pass 8"), read with bash alone (no tool the agent could stub). The
# summary comes last, so the last value of each counter wins over anything a test printed.
declare -A summary
if [ -f "$work/report.tap" ]; then
    while IFS= read -r line; do
        [[ $line =~ ^#\ (tests|pass|fail|cancelled|skipped|todo)\ ([0-9]+)$ ]] \
            && summary[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done < "$work/report.tap"
fi

if [ "$status" = 0 ] && [ "${summary[tests]}" = "$expected_tests" ] \
    && [ "${summary[pass]}" = "$expected_tests" ] && [ "${summary[fail]}" = 0 ] \
    && [ "${summary[cancelled]}" = 0 ] && [ "${summary[skipped]}" = 0 ] \
    && [ "${summary[todo]}" = 0 ]; then
    echo 1 > /logs/verifier/reward.txt
fi
echo "node --test exit status: $status; TAP report: tests=${summary[tests]:-none}" \
    "(expected $expected_tests) pass=${summary[pass]:-none} fail=${summary[fail]:-none};" \
    "reward: $(<"/logs/verifier/reward.txt")"
