#!/usr/bin/env bash
# Make sure the real services the tests talk to answer: Redis and MySQL/MariaDB (and, for the protocol
# interop tests, Debian's independent peers). Does nothing when all is there. On a Debian-like machine as
# root it installs what is missing from apt and starts it; otherwise it says exactly what to do.
set -euo pipefail

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
# Debian packages the test set-up uses besides the two servers: independent Modbus peers (mbpoll, a
# libmodbus server and client built from test/, pymodbus for Modbus ASCII, which mbpoll and libmodbus do
# not speak), socat for the serial tests' pty pairs, Wireshark's dissector (tshark) for the IEC 104 wire
# check, a C compiler, redis-server for tests that restart a Redis of their own, redis-sentinel for the
# failover tests (a master, a replica and three sentinels started by the test), and chromium for the
# browser tests.
TOOL_PACKAGES="${DATACOLL_TEST_PACKAGES:-mbpoll tshark libmodbus-dev gcc libc6-dev pkg-config socat python3 python3-pymodbus python3-serial python3-serial-asyncio redis-server redis-sentinel chromium}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
probe() { node "$here/probe-services.mjs" "$@"; }

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

start_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_mysql() {
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then apt_install mariadb-server; fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  # Debian's config leaves `user` unset and mariadbd refuses to run as root, so it is named here (as
  # systemd's unit does). The pid file, not only the program's path, says whether ours already runs: a
  # mariadbd of another container or data directory would otherwise count as running.
  start-stop-daemon --start --oknodo --background --pidfile /run/mysqld/mysqld.pid \
    --exec /usr/sbin/mariadbd -- --user=mysql --pid-file=/run/mysqld/mysqld.pid
  for _ in $(seq 1 60); do
    mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  # A fresh Debian MariaDB lets root in over the socket only; the tests connect over TCP as root with an
  # empty password, as the CI machines are set up. unix_socket comes first, as there: a wrong password
  # over TCP is then refused by mysql_native_password (ER_ACCESS_DENIED_ERROR, which the tests expect),
  # not handed on to unix_socket (ER_ACCESS_DENIED_NO_PASSWORD_ERROR).
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); CREATE DATABASE IF NOT EXISTS test;" || true
}

wait_for() {
  for _ in $(seq 1 60); do
    if probe "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

failed=0
if ! probe redis >/dev/null 2>&1; then
  if can_install && [[ "$REDIS_URL" =~ ^redis://(127\.0\.0\.1|localhost)(:6379)?/?$ ]]; then
    echo "services: Redis does not answer at $REDIS_URL; starting it"
    start_redis
    wait_for redis || { echo "services: Redis still does not answer"; failed=1; }
  else
    echo "services: Redis does not answer at $REDIS_URL."
    echo "  Start one (Debian: apt-get install redis-server && redis-server --daemonize yes)"
    echo "  or set REDIS_URL to a server the tests may use."
    failed=1
  fi
fi
if ! probe mysql >/dev/null 2>&1; then
  if can_install && [[ "$MYSQL_URL" =~ ^mysql://root@(127\.0\.0\.1|localhost)(:3306)?/test$ ]]; then
    echo "services: MySQL does not answer at $MYSQL_URL; starting MariaDB"
    start_mysql
    wait_for mysql || { echo "services: MySQL still does not answer: $(probe mysql 2>&1 || true)"; failed=1; }
  else
    echo "services: MySQL does not answer at $MYSQL_URL: $(probe mysql 2>&1 || true)"
    echo "  Start one (Debian: apt-get install mariadb-server, then allow root over TCP with an empty"
    echo "  password and CREATE DATABASE test) or set MYSQL_URL to a database the tests may use."
    failed=1
  fi
fi
missing=()
for pkg in $TOOL_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if can_install; then
    echo "services: installing test peers from Debian: ${missing[*]}"
    apt_install "${missing[@]}"
  else
    echo "services: the tests need these Debian packages: ${missing[*]} (apt-get install ${missing[*]})"
    failed=1
  fi
fi
exit $failed
