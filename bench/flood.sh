#!/usr/bin/env bash
# The long form of tests/hardening/flood.sh: a longer flood from more senders (default 60 s, 2 UDP senders,
# 4 TCP connections), same accounting and liveness checks, same figures (flood rates sent and parsed, drops by
# reason, unaccounted messages, peak RSS, p50/p99/max latency of /lists/tor-exits.txt and /metrics).
#   bench/flood.sh            FLOOD_SECONDS=300 UDP_THREADS=4 bench/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD_SECONDS=${FLOOD_SECONDS:-60} UDP_THREADS=${UDP_THREADS:-2} TCP_CONNS=${TCP_CONNS:-4} \
    exec tests/hardening/flood.sh
