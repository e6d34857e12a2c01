#!/usr/bin/env bash
# Builds a REFERENCE AAA for benchmarks only: hostapd's integrated RADIUS server with its EAP-AKA' server and
# hlr_auc_gw (Milenage), from Debian's own `wpa` source package. Cached outside the repo, idempotent.
# Optional: bench:aaa compares against it when present. Needs root the first time (apt-get).
set -euo pipefail
CACHE_DIR="${PROSEC_CACHE_DIR:-${HOME}/.cache/prosec}"
if [ -x "$CACHE_DIR/hostapd" ] && [ -x "$CACHE_DIR/hlr_auc_gw" ]; then echo "$CACHE_DIR/hostapd"; exit 0; fi
# The same source and build dependencies as eapol_test (that script sets up deb-src and installs them).
bash "$(dirname "$0")/build-eapol-test.sh" >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source -qq --download-only wpa >/dev/null
dpkg-source -x --no-check wpa_*.dsc src >/dev/null
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
echo "$CACHE_DIR/hostapd"
