#!/usr/bin/env bash
# Runs the Windows tests of the net-event and WFP packages under Wine against
# the fake fwpuclnt.dll (internal/winbench/fakes/fwpuclnt), twice: with every
# export (FwpmNetEventSubscribe0..4) and with an "older Windows" build that
# stops at FwpmNetEventSubscribe1, to prove the fallback by export presence.
# CI: installs wine64 and mingw-w64 with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || need+=(wine64)
if [ ${#need[@]} -gt 0 ]; then
	if [ "${CI:-}" = true ] || [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "netevent-winbench: missing ${need[*]}: apt-get install ${need[*]}" >&2
		exit 1
	fi
fi
WINE=/usr/lib/wine/wine64
[ -x "$WINE" ] || WINE=$(command -v wine64)

work=$(mktemp -d)
cleanup() {
	WINEPREFIX="$work/prefix" "$(dirname "$WINE")/wineserver" -k 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fake=internal/winbench/fakes/fwpuclnt

# Go >= 1.24 needs bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks.
cat >"$work/prng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID, ULONG);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) return FALSE;
		data += n; len -= n;
	}
	return TRUE;
}
C
x86_64-w64-mingw32-gcc -shared -O1 -o "$work/bcryptprimitives.dll" "$work/prng.c" -ladvapi32

x86_64-w64-mingw32-gcc -shared -O1 -Wall -I internal/winbench/include -DFAKE_MAX_SUBSCRIBE=1 -o "$work/fwpuclnt_old.dll" "$fake/fwpuclnt.c"

# The full DLL is covered by scripts/winbench.sh (every package, run from
# its own directory); this script adds the one thing that needs a second
# build of the fake: net events on a Windows whose fwpuclnt stops at
# FwpmNetEventSubscribe1.
pkgs=(./internal/source/netevent)
for p in "${pkgs[@]}"; do
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$work/$(basename "$p").test.exe" "$p"
done

export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="fwpuclnt,bcryptprimitives=n"
"$WINE" wineboot -i >/dev/null 2>&1 || true
sys32="$WINEPREFIX/drive_c/windows/system32"
cp "$work/bcryptprimitives.dll" "$sys32/"

status=0
run() { # variant package
	cp "$work/fwpuclnt_$1.dll" "$sys32/fwpuclnt.dll"
	echo "== $2 (fake fwpuclnt: $1)"
	local out="$work/$2-$1.log" rc=0
	WFPWATCH_WINBENCH=1 WFPWATCH_FAKE_VARIANT=$1 \
		"$WINE" "$work/$2.test.exe" -test.count=1 -test.v >"$out" 2>&1 || rc=$?
	tr -d '\r' <"$out" | grep -E '^(--- |PASS|FAIL|ok|panic)' || true
	tr -d '\r' <"$out" | grep -qx PASS || rc=1
	if [ $rc != 0 ]; then
		status=1
		tr -d '\r' <"$out" | tail -60
	fi
}
run old netevent
[ $status = 0 ] && echo "netevent-winbench: PASS" || echo "netevent-winbench: FAIL"
exit $status
