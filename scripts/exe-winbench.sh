#!/bin/sh
# exe-winbench.sh: the real wfpwatch.exe under Wine (docs/winbench.md, "The
# wfpwatch.exe scenarios"). Builds ./cmd/wfpwatch for windows/amd64 as it
# ships and runs 'audit enable/status/restore', 'watch' stopped by Ctrl+C, by
# console close and by SIGKILL (repaired by the next watch), and 'selftest'
# with its event-log half, against the bench's fake DLLs (the fake advapi32
# holds the audit policy). Each scenario must leave the policy as it found it.
#
# Installs wine64 and the mingw-w64 compiler with apt-get when they are
# missing and this runs as root (CI). Extra arguments go to the runner, e.g.
# scripts/exe-winbench.sh -v -run watch.
set -eu
cd "$(dirname "$0")/.."

install=""
if [ "$(id -u)" = 0 ]; then
	install="--install"
fi
go run ./internal/winbench -exe $install "$@"
