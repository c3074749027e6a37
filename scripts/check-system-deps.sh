#!/usr/bin/env bash
# Checks (and as root, installs) the system packages the Python build needs:
# a C compiler and the GMP headers that fastecdsa (pulled in by py-libp2p) compiles against,
# iproute2 and iptables, with which the NAT tests build their namespaces and routers,
# and Chromium, which the dashboard tests drive.
set -euo pipefail

have_gmp() { echo '#include <gmp.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
have_python() { command -v "${PYTHON:-python3.11}" >/dev/null 2>&1; }

if ! command -v "${CC:-cc}" >/dev/null 2>&1 || ! have_gmp; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing build-essential and libgmp-dev (needed to build fastecdsa)..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential libgmp-dev >/dev/null
    else
        echo "error: a C compiler and the GMP headers are needed to build fastecdsa (py-libp2p)." >&2
        echo "       on Debian/Ubuntu: sudo apt-get install build-essential libgmp-dev" >&2
        exit 1
    fi
fi
if ! command -v ip >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing iproute2 and iptables (the NAT tests' namespaces and routers)..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables >/dev/null
    elif [ -n "${CI:-}" ]; then
        echo "error: the NAT tests need ip (iproute2) and iptables, as root." >&2
        exit 1
    else
        echo "note: ip and iptables are missing; the NAT tests will skip (sudo apt-get install iproute2 iptables)." >&2
    fi
fi
# The dashboard tests drive Debian's Chromium with Playwright (a test tool's own browser
# download cannot reach its servers from here).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium (the dashboard's browser tests)..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif [ -n "${CI:-}" ]; then
        echo "error: the dashboard tests need Debian's chromium (apt-get install chromium)." >&2
        exit 1
    else
        echo "note: chromium is missing; the dashboard's browser tests will skip (sudo apt-get install chromium)." >&2
    fi
fi
if ! have_python; then
    echo "error: ${PYTHON:-python3.11} not found; computemesh needs Python 3.11+." >&2
    exit 1
fi
