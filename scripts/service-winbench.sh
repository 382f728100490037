#!/bin/sh
# service-winbench.sh: wfpwatch.exe as a Windows service under Wine's
# service control manager (docs/service.md, "Tested"; docs/winbench.md).
# Builds ./cmd/wfpwatch for windows/amd64 and runs three scenarios against
# the bench's fake DLLs (the fake advapi32 holds the audit policy):
#   service-lifecycle: install (a second install refused), status, start
#     (the policy turned on), restart, stop (put back), the service log and
#     Wine's event log (ReportEvent), uninstall --purge;
#   service-bad-config: 'service start' and 'sc start' refuse a configuration
#     with an error, which is logged with its line, and nothing changes;
#   service-killed-then-repaired: the service process killed with SIGKILL,
#     Wine restarted as a reboot would, the automatic service starts again
#     and repairs what the killed one left; uninstall stops it.
# Each scenario must leave the fake policy as it found it.
#
# Installs wine64 and the mingw-w64 compiler with apt-get when they are
# missing and this runs as root (CI). Extra arguments go to the runner, e.g.
# scripts/service-winbench.sh -v -run lifecycle.
set -eu
cd "$(dirname "$0")/.."

install=""
if [ "$(id -u)" = 0 ]; then
	install="--install"
fi
go run ./internal/winbench -service $install "$@"
