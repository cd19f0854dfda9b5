#!/bin/bash
# Verifier: run the behaviour tests against the code in /app with node's built-in test
# runner. The reward is written whatever happens; only the reward file judges.
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt

cd /tests
# Time zone pinned far from UTC: calendar dates must not depend on it.
TZ=Pacific/Kiritimati node --test /tests/renewals.test.js
status=$?

if [ "$status" -eq 0 ]; then
    echo 1 > /logs/verifier/reward.txt
else
    echo 0 > /logs/verifier/reward.txt
fi
echo "node --test exit status: $status; reward: $(cat /logs/verifier/reward.txt)"
