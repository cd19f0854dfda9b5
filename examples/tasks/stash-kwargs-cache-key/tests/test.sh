#!/bin/bash
# Verifier: run the hidden behaviour tests against the code in /app. The reward is written
# whatever happens; the exit status stays 0 so that only the reward file judges.
#
# Under Harbor nothing undoes what the agent did to the image before this runs, so the
# verdict relies on nothing the agent could have planted: the tests run from a fresh
# folder (not /tests, where a planted conftest.py would survive the upload), pytest reads
# no ini file, conftest.py or auto-loaded plugin from the image, Python starts isolated
# (-I: no PYTHON* variables, user site or working directory on sys.path), and the reward
# needs positive evidence, not an exit status: pytest's JUnit report must list exactly
# the number of tests shipped here, all passed. A stubbed interpreter writes no report, and
# a startup hook that forces exit status 0 cannot turn a failure into a pass.
PATH=/usr/bin:/bin
export PATH
unset PYTEST_ADDOPTS PYTEST_PLUGINS
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
# Zero until the evidence says otherwise, so a verifier that breaks half-way still judges.
echo 0 > /logs/verifier/reward.txt

# test_stash.py's test functions, parametrized cases counted one by one.
expected_tests=12
python=/opt/venv/bin/python

work=$(mktemp -d) && cd "$work" && cp /tests/test_stash.py "$work/" || exit 0
trap 'rm -rf "$work"' EXIT
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$python" -I -m pytest -c /dev/null \
    --rootdir="$work" --confcutdir="$work" -p no:cacheprovider \
    --junitxml="$work/junit.xml" -rA "$work/test_stash.py"
status=$?

# The <testsuite> element's counters, read with bash alone (no tool the agent could stub).
report=
[ -f "$work/junit.xml" ] && report=$(<"$work/junit.xml")
cp "$work/junit.xml" /logs/verifier/junit.xml 2>/dev/null
suite=
[[ $report =~ \<testsuite\ [^\>]*\> ]] && suite=${BASH_REMATCH[0]}
counter() {
    [[ $suite =~ [[:space:]]$1=\"([0-9]+)\" ]] && echo "${BASH_REMATCH[1]}"
}
tests=$(counter tests)
failures=$(counter failures)
errors=$(counter errors)
skipped=$(counter skipped)

if [ "$status" = 0 ] && [ "$tests" = "$expected_tests" ] && [ "$failures" = 0 ] \
    && [ "$errors" = 0 ] && [ "$skipped" = 0 ]; then
    echo 1 > /logs/verifier/reward.txt
fi
echo "pytest exit status: $status; JUnit report: tests=${tests:-none} (expected" \
    "$expected_tests) failures=${failures:-none} errors=${errors:-none}" \
    "skipped=${skipped:-none}; reward: $(<"/logs/verifier/reward.txt")"
