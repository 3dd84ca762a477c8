#!/usr/bin/env bash
# Installs what the integration tests need that npm cannot bring: Debian's Chromium, ClickHouse,
# kcat (librdkafka's mock Kafka cluster) and docker-compose (validates docker-compose.yml offline).
# Tests never skip when a service is missing; this script makes sure it is not.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
[ -x /usr/bin/clickhouse-client ] || need+=(clickhouse-client)
[ -x /usr/bin/kcat ] || need+=(kcat)
[ -x /usr/bin/docker-compose ] || need+=(docker-compose)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing test prerequisites: ${need[*]}. Install them: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi

echo "Installing test prerequisites: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
