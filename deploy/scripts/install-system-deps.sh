#!/usr/bin/env bash
# Installs optional Debian packages used by interoperability tests (tshark, prometheus, iproute2, nftables for netns
# link loss on kernels without netem, eapol_test and hostapd build deps).
# Safe to run repeatedly; needs root. Without root it only reports what is missing.
set -u
pkgs=(iproute2 nftables tshark prometheus)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# wpa_supplicant's eapol_test with the USIM simulator, for the EAP-AKA' interop test (cached outside the repo).
bash "$(dirname "$0")/build-eapol-test.sh" || echo "eapol_test could not be built: the EAP-AKA' interop test will be skipped"
# hostapd's RADIUS/EAP-AKA' server + hlr_auc_gw (about 1 min): our peer's interop test and the bench:aaa reference.
bash "$(dirname "$0")/build-hostapd-ref.sh" || echo "hostapd reference could not be built: its interop test will be skipped"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "not root: please install ${missing[*]}"; exit 1; fi
apt-get update -qq && echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections \
  && apt-get install -y -qq --no-install-recommends "${missing[@]}"
