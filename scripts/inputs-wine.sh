#!/bin/sh
# inputs-wine.sh: run the Windows build of the firewall-log tests under Wine.
#
# Proves on the Windows API (as Wine implements it) what Linux cannot: that
# the live tailer opens pfirewall.log with delete sharing (the firewall can
# rotate it while wfpwatch reads), the rotation/truncation tail tests, and
# the COM/WMI plumbing of 'fwlog status'. The firewall's own WMI class is
# absent from Wine, so that test skips with the reason.
#
# Installs what it needs with apt-get when run as root (CI); needs about a
# minute. Extra arguments go to the test binary (e.g. -test.v).
set -eu
cd "$(dirname "$0")/.."

need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64"
WINE=${WINE64:-/usr/lib/wine/wine64}
if [ ! -x "$WINE" ]; then
	if command -v wine64 >/dev/null 2>&1; then WINE=$(command -v wine64); else need="$need wine64"; fi
fi
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "inputs-wine.sh: missing:$need; install with: sudo apt-get install$need" >&2
		exit 2
	fi
	apt-get update -qq
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
	[ -x "$WINE" ] || WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
fi

work=$(mktemp -d)
WINESERVER=$(dirname "$WINE")/wineserver
trap '[ -x "$WINESERVER" ] && "$WINESERVER" -k 2>/dev/null; rm -rf "$work"' EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all

# Go >= 1.24 needs bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks:
# forward it to advapi32's RtlGenRandom (SystemFunction036).
cat >"$work/prng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return SystemFunction036(data, (ULONG)len); }
C
printf 'LIBRARY bcryptprimitives\nEXPORTS\n  ProcessPrng\n' >"$work/prng.def"
x86_64-w64-mingw32-gcc -shared -o "$work/bcryptprimitives.dll" "$work/prng.c" "$work/prng.def" -ladvapi32

"$WINE" wineboot -i >/dev/null 2>&1 || true
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -c -o "$work/fwlog.exe" ./internal/source/fwlog
cd internal/source/fwlog
"$WINE" "$work/fwlog.exe" -test.count=1 "$@"
echo "inputs-wine.sh: Windows fwlog tests passed under Wine"
