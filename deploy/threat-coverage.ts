// Every threat the threat-matrix issue names, with where prosec shows the defence today (docs/threat-matrix.md).
// `live` rows come from `prosec attack` (deploy/attack.ts); the others name the test that attacks the real
// procedure code with real frames, or say why nothing tests it yet.

export interface CoverageRow {
  keyIssue: string;
  threat: string;
  status:
    | 'live attack'
    | 'tested (procedure/node level)'
    | 'not tested yet'
    | 'not testable in this emulation';
  evidence: string;
}

export const THREAT_COVERAGE: CoverageRow[] = [
  {
    keyIssue: '#1.1',
    threat: 'Tampered or substituted ProSe configuration at rest on the UE',
    status: 'tested (procedure/node level)',
    evidence:
      'tests/nodes/protected-config.test.ts: any flipped bit, another device key, another UE or truncation is refused at load',
  },
  {
    keyIssue: '#1.1',
    threat: 'Rogue configuration server on PC3',
    status: 'live attack',
    evidence:
      'threat matrix row `rogue-config-server` (ue-3 re-registers at the adversary, which holds a group-manager certificate of the run’s CA and serves a forged configuration; the UE re-joins its groups at a changed address: server role check vs acceptAnyConfigServer); tests/transport/pc3-tls.test.ts: the client refuses a server whose certificate names another role; untrusted CA and revoked certificates fail the mutual TLS handshake',
  },
  {
    keyIssue: '#2.1',
    threat: 'Tracking a UE by linking its restricted discovery announcements',
    status: 'live attack',
    evidence: 'threat matrix row `tracking` (over-the-air ID and PC5 source L2 ID rotation vs a fixed L2 ID)',
  },
  {
    keyIssue: '#2.2',
    threat: 'Forged or replayed Model B discovery request/response',
    status: 'tested (procedure/node level)',
    evidence:
      'tests/procedures/discovery.test.ts (MIC, replayed response, ProSe Function match reports); tests/deploy/discovery-up.test.ts runs Model B with the ProSe Function in the loop',
  },
  {
    keyIssue: '#2.3',
    threat: 'Replay of restricted discovery announcements',
    status: 'live attack',
    evidence: 'threat matrix row `discovery-replay` (replay cache vs none)',
  },
  {
    keyIssue: '#2.3',
    threat: 'Impersonation of an announcer (forged open announcement)',
    status: 'live attack',
    evidence:
      'threat matrix row `open-impersonation` (signature check vs monitors accepting a failing signature); also tests/deploy/discovery-up.test.ts (forged open announcement, flipped MIC bits, late replay)',
  },
  {
    keyIssue: '#2.5',
    threat: 'Registration flooding of the ProSe Function',
    status: 'live attack',
    evidence:
      'threat matrix row `registration-flood` (the insider floods PC3 registrations from 127.0.0.2 while the other UEs re-register every second: throttle vs `noRegistrationThrottle`); tests/procedures/discovery.test.ts (registration throttle); `npm run bench:registration-flood` measures legitimate registrations served during a 10x flood (docs/discovery.md)',
  },
  {
    keyIssue: '#2.4',
    threat:
      'Application registration for ProSe: a UE registering another user’s application-level user ID (ALUID)',
    status: 'tested (procedure/node level)',
    evidence: 'tests/deploy/discovery-up.test.ts: the impostor ue-5 is rejected (aluid_mismatch)',
  },
  {
    keyIssue: '#3.1/#3.2',
    threat: 'Passive eavesdropping of group (one-to-many) media',
    status: 'live attack',
    evidence: 'threat matrix row `group-eavesdrop` (128-NEA2 vs 128-NEA0)',
  },
  {
    keyIssue: '#3.2',
    threat: 'Replay of group media',
    status: 'live attack',
    evidence: 'threat matrix row `group-replay` (replay window vs none)',
  },
  {
    keyIssue: '#3.2',
    threat: 'Replay of a group call set-up',
    status: 'live attack',
    evidence:
      'threat matrix row `group-call-replay` (GSK-ID memory vs none); tests/procedures/group.test.ts: group call rejections (unknown GMK-ID, tampered KEMAC, forged signer, stale timestamp)',
  },
  {
    keyIssue: '#3.1',
    threat: 'Forged GMK distribution; injection of a chosen key',
    status: 'live attack',
    evidence:
      'threat matrix row `gmk-forgery` (a rogue group manager with a group-manager TLS certificate but not the group identity key serves ue-3 an all-zero GMK signed with the insider’s ECCSI key, then talks under it: I_MESSAGE signature check vs skipGmkSignatureCheck); tests/procedures/group.test.ts: forged GMK distribution (another or an untrusted signer) rejected; I_MESSAGE for another identity; expired GMK',
  },
  {
    keyIssue: '#3.1',
    threat: 'An unauthorized UE requesting group keys',
    status: 'live attack',
    evidence:
      'threat matrix row `group-key-fetch` (an insider with ue-4’s certificate and registration asks for a pc3 group’s key: membership check vs anyoneMayFetch); tests/nodes/group-keys.test.ts: the PC3 group key goes to members only; tests/procedures/group.test.ts: a non-member and a removed member decrypt nothing',
  },
  {
    keyIssue: '#4.1',
    threat: 'Passive eavesdropping of a one-to-one link; a compromised member reading other pairs’ traffic',
    status: 'live attack',
    evidence:
      'threat matrix row `link-eavesdrop` (the adversary taps loopback with dumpcap/tshark/tcpdump on the link UEs’ PC5 ports: 128-NEA2 vs 128-NEA0); tests/procedures/direct-link.test.ts: separate contexts per peer (Mary cannot read John’s traffic with Peter)',
  },
  {
    keyIssue: '#4.1',
    threat: 'Man in the middle on link set-up: Supported_algs modified, security stripped; DSMC replayed',
    status: 'live attack',
    evidence:
      'threat matrix rows `link-downgrade` (the adversary relays the link between the two UEs and rewrites Supported_algs to NEA0/NIA1: KD signature and echo check vs noTranscriptBinding + noEchoCheck) and `dsmc-replay` (a recorded DSMC handed to a UE in a later re-key: Nonce_1 binding vs reuseNonce1); tests/procedures/insecure-controls.test.ts: each knob alone; tests/procedures/direct-link.test.ts: stripped protection (policy), tampered DSMC (mac), duplicate DSMC (replay), wrong DKSI, revoked certificate',
  },
  {
    keyIssue: '#4.2',
    threat: 'Tampering with one-to-one user data',
    status: 'tested (procedure/node level)',
    evidence:
      'tests/procedures/direct-link.test.ts: with user-plane integrity on, tampering is `mac`; off (the TR default), tampered data decrypts to garbage undetected — the documented trade-off',
  },
  {
    keyIssue: 'relay (#5.1)',
    threat: 'Rogue relay: tampering with or dropping EAP messages',
    status: 'live attack',
    evidence:
      "threat matrix row `rogue-relay` (scenarios/attack-relay.yaml, run as its own pair: relay-1 flips one bit of AT_MAC in every EAP-Request/AKA'-Challenge it forwards; the remote UEs' AT_MAC check vs `relay.insecure.peerSkipsAtMac`); tests/procedures/insecure-controls.test.ts: the knob alone, and a flipped AT_AUTN bit refused by the USIM either way; tests/procedures/eap-aka-prime.test.ts: tampered AT_MAC, AT_CHECKCODE and identity requests are refused; tests/procedures/relay-link.test.ts: a tampered DSMC or a wrong MSK fails. Dropping EAP messages is denial of service, which a relay on the path can always do (the remote UE times out: `relay_silent`)",
  },
  {
    keyIssue: 'relay (#5.1)',
    threat: 'Rogue relay learning the remote UE’s keys',
    status: 'not testable in this emulation',
    evidence:
      'by design of solution #5.1 the relay is the EAP authenticator and receives the MSK from the AAA (RADIUS MS-MPPE keys), so a rogue relay holds the PC5 link key; it never sees K, CK/IK or the EMSK (docs/relay.md)',
  },
  {
    keyIssue: '#3.3',
    threat:
      'One-to-many communication in decentralized mode: a group keyed among UEs without the network (ad-hoc GMK), a non-creator injecting a GMK, a removed member',
    status: 'tested (procedure/node level)',
    evidence:
      'tests/procedures/adhoc-gmk.test.ts: the GMK travels over a real direct link (neither GMK nor group ID readable on the wire) and is accepted only from the link peer authenticated as the creator (not_creator), from the ad-hoc key space (wrong_key_space), unexpired; tests/deploy/group-up.test.ts group charlie: the removed member decrypts nothing after the creator re-keys over the links',
  },
  {
    keyIssue: '#3.4',
    threat: 'Key issue #3.4 of TR 33.833',
    status: 'not tested yet',
    evidence:
      'the TR text reachable from this machine (its table of contents) names key issues #3.1 one-to-many between public safety UEs, #3.2 key distribution for group communications and #3.3 decentralized mode, but not the scope of #3.4, so no row can claim it; the one-to-many threats known here are the #3.1–#3.3 and LI rows',
  },
  {
    keyIssue: '#3 (LI contribution)',
    threat: 'Key freshness after a leak of a member’s provisioned credentials (exposure window)',
    status: 'tested (procedure/node level)',
    evidence:
      'docs/li-exposure.md (`npm run docs:li-exposure`, tests/procedures/key-exposure.test.ts): real call-inits and media, a leak at t; pre-provisioned PGK batch: everything until the group is back in coverage (t + 6.5 h with the defaults); fresh GSK per call with network GMKs: the leaked period until removal re-keys (t + 30.1 min); nothing after re-provisioning in either',
  },
];

/** Sort key of a key issue label: '#2.4' -> 2.04, '#3 (LI contribution)' -> 3.99, 'relay (#5.1)' -> 5.01. */
function issueOrder(label: string): number {
  const m = /#(\d+)(?:\.(\d+))?/.exec(label);
  if (!m) return 99;
  return Number(m[1]) + (m[2] === undefined ? 0.99 : Number(m[2]) / 100);
}

export function coverageMarkdown(rows: CoverageRow[] = THREAT_COVERAGE): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  // In key issue order (stable: rows of one key issue keep their order).
  const sorted = [...rows].sort((a, b) => issueOrder(a.keyIssue) - issueOrder(b.keyIssue));
  return [
    '| key issue | threat | status | evidence |',
    '| --- | --- | --- | --- |',
    ...sorted.map((r) => `| ${r.keyIssue} | ${cell(r.threat)} | ${r.status} | ${cell(r.evidence)} |`),
  ].join('\n');
}
