#!/usr/bin/env bash
# Builds wpa_supplicant's eapol_test from Debian's own `wpa` source package with the USIM
# simulator (Milenage) and EAP-AKA/AKA' enabled, for the EAP-AKA' interop test.
# Debian's `eapoltest` binary lacks CONFIG_USIM_SIMULATOR, so it cannot act as an AKA' peer.
# The binary is cached OUTSIDE the repo; running the script again is a no-op once it exists.
# Needs root the first time (apt-get). Prints the binary's path on success.
set -euo pipefail
CACHE_DIR="${PROSEC_CACHE_DIR:-${HOME}/.cache/prosec}"
BIN="${CACHE_DIR}/eapol_test"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "build-eapol-test: not root and no cached $BIN" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
# A deb-src entry mirroring the machine's own Debian archive (only if none is configured yet): the source
# package comes from the same archive apt already uses, whatever mirror that is.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$uri" ] || uri="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  if [ -z "$uri" ]; then echo "build-eapol-test: no Debian archive configured for apt" >&2; exit 1; fi
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$suite" > /etc/apt/sources.list.d/prosec-deb-src.sources
fi
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends build-essential libssl-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev \
  pkg-config dpkg-dev >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source -qq --download-only wpa >/dev/null
dpkg-source -x --no-check wpa_*.dsc src >/dev/null
cd src/wpa_supplicant
# A minimal configuration: only what eapol_test needs for EAP-SIM/AKA/AKA' with the simulated (U)SIM.
# (The full defconfig builds every driver, P2P, DPP, WPS... and takes many minutes on a shared 2-core box.)
cat > .config <<'CFG'
CONFIG_DRIVER_WIRED=y
CONFIG_IEEE8021X_EAPOL=y
CONFIG_EAP_MD5=y
CONFIG_EAP_SIM=y
CONFIG_EAP_AKA=y
CONFIG_EAP_AKA_PRIME=y
CONFIG_USIM_SIMULATOR=y
CONFIG_SIM_SIMULATOR=y
CONFIG_TLS=openssl
CONFIG_CTRL_IFACE=y
CONFIG_BACKEND=file
CONFIG_EAPOL_TEST=y
CFG
make -s -j"$(nproc)" eapol_test >/dev/null
mkdir -p "$CACHE_DIR"
install -m 0755 eapol_test "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
echo "$BIN"
