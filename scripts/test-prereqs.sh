#!/usr/bin/env bash
# Installs what the integration tests need that npm cannot bring: Debian's Chromium and ClickHouse.
# Tests never skip when a service is missing; this script makes sure it is not.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
[ -x /usr/bin/clickhouse-client ] || need+=(clickhouse-client)

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
