#!/bin/sh
# exe-winbench.sh: the real wfpwatch.exe under Wine (docs/winbench.md, "The
# wfpwatch.exe scenarios"). Builds ./cmd/wfpwatch for windows/amd64 as it
# ships and runs 'audit enable/status/restore', 'watch' stopped by Ctrl+C, by
# console close and by SIGKILL (repaired by the next watch), and 'selftest'
# with its event-log half, against the bench's fake DLLs (the fake advapi32
# holds the audit policy). Each scenario must leave the policy as it found it.
#
# Needs wine64 and x86_64-w64-mingw32-gcc; the runner installs them with
# apt-get when run as root with CI=true (or with --install). Extra arguments
# go to the runner, e.g. scripts/exe-winbench.sh -v -run watch.
set -eu
cd "$(dirname "$0")/.."
exec go run ./internal/winbench -exe "$@"
