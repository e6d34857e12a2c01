#!/usr/bin/env bash
# Builds a REFERENCE AAA for benchmarks and interop tests: hostapd's integrated RADIUS server with its EAP-AKA' server and
# hlr_auc_gw (Milenage), from Debian's own `wpa` source package. Cached outside the repo, idempotent.
# bench:aaa compares against it and tests/interop/hostapd-reference.test.ts runs our EAP-AKA' peer against it
# when present (install-system-deps.sh builds it, so CI does). Needs root the first time (apt-get).
set -euo pipefail
CACHE_DIR="${PROSEC_CACHE_DIR:-${HOME}/.cache/prosec}"
# The stamp names the source patch below: a binary built without it is rebuilt.
STAMP="$CACHE_DIR/hostapd.sessions-patch-1"
if [ -x "$CACHE_DIR/hostapd" ] && [ -x "$CACHE_DIR/hlr_auc_gw" ] && [ -f "$STAMP" ]; then echo "$CACHE_DIR/hostapd"; exit 0; fi
# The same source and build dependencies as eapol_test (that script sets up deb-src and installs them).
bash "$(dirname "$0")/build-eapol-test.sh" >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source -qq --download-only wpa >/dev/null
dpkg-source -x --no-check wpa_*.dsc src >/dev/null
# hostapd's integrated RADIUS server keeps at most 1,000 sessions and holds each completed one for 5 s
# (src/radius/radius_server.c, compile-time constants): above ~200 authentications/s it answers Access-Reject.
# For a throughput reference, raise the limit and release completed sessions after 1 s.
sed -i -e 's/^#define RADIUS_MAX_SESSION 1000$/#define RADIUS_MAX_SESSION 100000/' \
  -e 's/^#define RADIUS_SESSION_MAINTAIN 5$/#define RADIUS_SESSION_MAINTAIN 1/' src/src/radius/radius_server.c
grep -q '^#define RADIUS_MAX_SESSION 100000$' src/src/radius/radius_server.c
cd src/hostapd
cat > .config <<'CFG'
CONFIG_DRIVER_NONE=y
CONFIG_RADIUS_SERVER=y
CONFIG_EAP=y
CONFIG_EAP_SIM=y
CONFIG_EAP_AKA=y
CONFIG_EAP_AKA_PRIME=y
CONFIG_TLS=openssl
CONFIG_NO_ACCOUNTING=y
CONFIG_NO_VLAN=y
CFG
make -s -j"$(nproc)" hostapd hlr_auc_gw >/dev/null
mkdir -p "$CACHE_DIR"
install -m 0755 hlr_auc_gw "$CACHE_DIR/hlr_auc_gw"
install -m 0755 hostapd "$CACHE_DIR/hostapd.tmp" && mv "$CACHE_DIR/hostapd.tmp" "$CACHE_DIR/hostapd"
touch "$STAMP"
echo "$CACHE_DIR/hostapd"
