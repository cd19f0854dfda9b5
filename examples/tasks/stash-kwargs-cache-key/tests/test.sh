#!/bin/bash
# Verifier: run the behaviour tests against the code in /app. The reward is written
# whatever happens; the exit status stays 0 so that only the reward file judges.
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt

cd /tests
# No third-party plugins, no conftest.py from outside /tests, no cache files.
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 /opt/venv/bin/python -m pytest \
    -p no:cacheprovider --confcutdir=/tests --rootdir=/tests -rA /tests/test_stash.py
status=$?

if [ "$status" -eq 0 ]; then
    echo 1 > /logs/verifier/reward.txt
else
    echo 0 > /logs/verifier/reward.txt
fi
echo "pytest exit status: $status; reward: $(cat /logs/verifier/reward.txt)"
