#!/bin/sh
# winbench.sh: the Windows ABI bench, as .ci/run calls it (see docs/winbench.md).
#
# Installs the Debian packages it needs when they are missing (root only),
# checks every Go mirror of a Windows struct against the C headers, then runs
# the Windows test binaries under Wine. Extra arguments go to the runner,
# e.g. scripts/winbench.sh -v -run TestFake.
set -eu
cd "$(dirname "$0")/.."

need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64-win32"
if ! command -v wine64 >/dev/null 2>&1 && [ ! -x /usr/lib/wine/wine64 ] && [ -z "${WINE64:-}" ]; then
	need="$need wine64"
fi
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "winbench.sh: missing:$need; install with: sudo apt-get install$need" >&2
		exit 2
	fi
	echo "winbench.sh: installing$need"
	apt-get update -qq
	# shellcheck disable=SC2086 # $need is a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

start=$(date +%s)
if [ -d internal/winbench/layoutcheck ]; then
	go run ./internal/winbench/layoutcheck
fi
go run ./internal/winbench "$@"
echo "winbench.sh: done in $(($(date +%s) - start)) s"
