#!/usr/bin/env bash
# The IEC 104 wire checks alone: our frames through Wireshark's dissector (tshark), from a scripted
# exchange and from a live loopback capture of both roles. Needs the Debian package tshark (npm run
# services installs it) and the right to capture on lo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tshark >/dev/null 2>&1 || { echo "check:wire needs tshark: apt-get install tshark (or npm run services)" >&2; exit 1; }
MOCHA_SPEC=test/integration/iec104/wireshark.test.ts,test/integration/iec104/wire-capture.test.ts exec npx mocha
