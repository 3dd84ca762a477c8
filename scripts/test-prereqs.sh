#!/usr/bin/env bash
# Installs what the integration tests need that npm ci cannot bring: Debian's Chromium, ClickHouse,
# kcat (librdkafka's mock Kafka cluster) and docker-compose (validates docker-compose.yml offline);
# and chdb, the current ClickHouse engine in-process, on which the tests run every ClickHouse query.
# Tests never skip when a service is missing; this script makes sure it is not.
set -euo pipefail
cd "$(dirname "$0")/.."

# chdb is not in package.json: npm ci insists that a lockfile list every platform's optional binary,
# and this registry has only linux-x64's. Installed here without saving, at a pinned version.
CHDB_VERSION=3.4.0
if ! node -e "process.exit(require('./node_modules/chdb/package.json').version === '$CHDB_VERSION' ? 0 : 1)" 2>/dev/null; then
  echo "Installing chdb@$CHDB_VERSION (test-only, not saved)"
  npm install --no-save --no-audit --no-fund --loglevel=error "chdb@$CHDB_VERSION" >/dev/null
fi

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
