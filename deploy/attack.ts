// `prosec attack` (docs/threat-matrix.md): runs the threat-matrix scenario twice with an adversary process on the PC5
// groups — once with the defences as configured, once with them deliberately weakened (the control) — and writes the
// threat matrix: a row passes only if its attack fails against the defence and succeeds against the control.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCaptureTool, NO_CAPTURE_TOOL } from '../nodes/adversary/capture.js';
import type { AttackId } from '../nodes/adversary/index.js';
import { Run, type RunSummary } from './orchestrator.js';
import type { Scenario } from './scenario.js';
import { coverageMarkdown } from './threat-coverage.js';

export interface ThreatEvidence {
  /** What the attack achieved in one run, in words, from the counters. */
  observed: string;
  succeeded: boolean;
}

export interface ThreatDefinition {
  id: string;
  keyIssue: string;
  threat: string;
  defence: string;
  /** How the control run weakens the scenario. */
  control: string;
  expected: string;
  /** Reads one run's summary. */
  evaluate(s: RunSummary): ThreatEvidence;
  /** Why this attack cannot run on this host (the row is then skipped with the reason), if it cannot. */
  unavailable?(): string | undefined;
  /**
   * The scenario the row runs in, when not the main one (scenarios/NAME.yaml, run twice on its own): rows whose
   * attack needs nodes the main scenario does not have (a relay) and would slow every other row.
   */
  scenario?: string;
}

const ev = (s: RunSummary, attack: string): Record<string, number> => s.adversary?.[attack] ?? {};

export const THREATS: ThreatDefinition[] = [
  {
    id: 'tracking',
    keyIssue: '#2.1',
    threat: 'A passive observer links a UE’s restricted discovery announcements over time (tracking)',
    defence: 'rotating over-the-air ID (solution #2.1, option 2) and PC5 source L2 ID rotated with it',
    control: 'discovery.rotateL2Id: false (the node’s fixed L2 ID)',
    expected: 'under 5 % of announcements linked; control: over 50 %',
    evaluate(s) {
      const e = ev(s, 'tracking');
      const n = e.announcements ?? 0;
      const rate = n > 0 ? (e.linked ?? 0) / n : 0;
      return {
        observed: `${e.linked ?? 0} of ${n} restricted announcements linked by L2 ID (${(100 * rate).toFixed(1)} %)`,
        succeeded: n >= 10 && rate > 0.5,
      };
    },
  },
  {
    id: 'group-eavesdrop',
    keyIssue: '#3.1/#3.2',
    threat: 'A non-member captures group call media on the PC5 multicast group and reads it',
    defence: '128-NEA2 media ciphering under per-sender PTKs from the call’s GSK (GMK-protected)',
    control: 'groupSecurity.groups[].insecure.nullCipher: true (128-NEA0)',
    expected: 'no media frame readable; control: most frames readable',
    evaluate(s) {
      const e = ev(s, 'group-eavesdrop');
      const n = e.frames ?? 0;
      const hit = e.plaintextFrames ?? 0;
      return {
        observed: `${hit} of ${n} captured media frames had readable plaintext`,
        succeeded: n >= 10 && hit > n / 2,
      };
    },
  },
  {
    id: 'group-replay',
    keyIssue: '#3.2',
    threat: 'An attacker replays captured group media PDUs to the members',
    defence: 'per-sender COUNT and replay window at every member',
    control: 'groupSecurity.groups[].insecure.noReplayProtection: true',
    expected: 'no replayed PDU accepted (each counted as `replay`); control: replays accepted',
    evaluate(s) {
      const e = ev(s, 'group-replay');
      const replayed = e.replayed ?? 0;
      const accepted = s.groupSecurity?.media.duplicatesAccepted ?? 0;
      const rejected = s.groupSecurity?.failuresByCause['media.replay'] ?? 0;
      return {
        observed: `${replayed} PDUs replayed; members accepted ${accepted} duplicates and rejected ${rejected} as replays`,
        succeeded: replayed >= 10 && accepted >= replayed,
      };
    },
  },
  {
    id: 'discovery-replay',
    keyIssue: '#2.3',
    threat: 'An attacker replays captured restricted discovery announcements within their time slot',
    defence: 'monitors accept each over-the-air ID once (replay cache; freshness window ±1 slot)',
    control: 'discovery.insecure.noReplayProtection: true',
    expected: 'no replayed announcement matched again; control: replays matched',
    evaluate(s) {
      const e = ev(s, 'discovery-replay');
      const replayed = e.replayed ?? 0;
      const accepted = s.discovery?.replaysAccepted ?? 0;
      const rejected = (s.discovery?.rejected.replay ?? 0) + (s.discovery?.rejected.stale ?? 0);
      return {
        observed: `${replayed} announcements replayed; monitors matched ${accepted} again and rejected ${rejected} (replay/stale)`,
        succeeded: replayed >= 10 && accepted >= replayed * 0.3,
      };
    },
  },
  {
    id: 'open-impersonation',
    keyIssue: '#2.3',
    threat:
      'An attacker forges open discovery announcements carrying a victim’s (public) ProSe Application Code, to be discovered as the victim',
    defence: 'monitors verify the announcer’s ECDSA signature over code, time slot and nonce (solution #2.3)',
    control: 'discovery.insecure.acceptUnsigned: true (monitors accept a failing signature)',
    expected: 'no forged announcement matched (each `bad_signature`); control: forgeries matched',
    evaluate(s) {
      const e = ev(s, 'open-impersonation');
      const forged = e.forged ?? 0;
      const accepted = s.discovery?.forgeriesAccepted ?? 0;
      const rejected = s.discovery?.rejected.bad_signature ?? 0;
      return {
        observed: `${forged} announcements forged; monitors matched ${accepted} forgeries as the victim and rejected ${rejected} (bad_signature)`,
        succeeded: forged >= 10 && accepted >= forged,
      };
    },
  },
  {
    id: 'group-call-replay',
    keyIssue: '#3.2',
    threat: 'An attacker replays captured group call set-up (MIKEY call-init) messages to the members',
    defence: 'call-init timestamp window and the members’ memory of GSK-IDs already set up',
    control: 'groupSecurity.groups[].insecure.noCallReplayProtection: true',
    expected: 'no replayed call-init accepted (each `call.replay`); control: calls set up again',
    evaluate(s) {
      const e = ev(s, 'group-call-replay');
      const replayed = e.replayed ?? 0;
      const accepted = s.groupSecurity?.callReplaysAccepted ?? 0;
      const rejected = s.groupSecurity?.failuresByCause['call.replay'] ?? 0;
      return {
        observed: `${replayed} call-inits replayed; members set up ${accepted} calls again and rejected ${rejected} as replays`,
        succeeded: replayed >= 1 && accepted >= replayed,
      };
    },
  },
  {
    id: 'link-eavesdrop',
    keyIssue: '#4.1',
    threat:
      'A passive eavesdropper with a capture point on the medium records one-to-one (direct link) user data and reads it',
    defence:
      'direct link user-plane ciphering (128-NEA2 chosen from Supported_algs) under keys from KD-sess (certificate KD)',
    control: 'directLinks.insecure.nullCipher: true (both UEs offer only 128-NEA0)',
    expected: 'no captured user-data frame readable; control: most frames readable',
    unavailable: () => (findCaptureTool() ? undefined : NO_CAPTURE_TOOL),
    evaluate(s) {
      const e = ev(s, 'link-eavesdrop');
      const cap = ev(s, 'capture');
      const n = e.frames ?? 0;
      const hit = e.plaintextFrames ?? 0;
      return {
        observed: `loopback capture took ${cap.packets ?? 0} packets on the link UEs' PC5 ports (${e.signalling ?? 0} link signalling); ${hit} of ${n} user-data frames had readable plaintext${cap.failed ? ' (capture failed)' : ''}`,
        succeeded: n >= 10 && hit > n / 2,
      };
    },
  },
  {
    id: 'link-downgrade',
    keyIssue: '#4.1',
    threat:
      'A man in the middle on direct link set-up rewrites the Direct Communication Request’s Supported_algs to 128-NEA0/128-NIA1 only (bidding down to no ciphering)',
    defence:
      'Supported_algs bound to the exchange: signed in the initiator’s certificate KD data (checked by the responder) and echoed in the DSMC (compared by the initiator)',
    control:
      'directLinks.insecure.noEchoCheck: true and noTranscriptBinding: true (with the echo check alone off, the KD signature still refuses the rewritten request; the control also has nullCipher, so the offer is NEA0 already and the downgrade shows in the integrity algorithm)',
    expected:
      'no set-up accepted with an altered offer; control: the link comes up with the attacker’s algorithms',
    evaluate(s) {
      const e = ev(s, 'link-downgrade');
      const d = s.directLinks;
      const accepted = d?.biddingDownAccepted ?? 0;
      const failures = Object.entries(d?.setupFailuresByCause ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const algs = Object.entries(d?.setupAlgs ?? {})
        .map(([k, v]) => `${k} x${v}`)
        .join(', ');
      return {
        observed: `${e.requestsRewritten ?? 0} request rewritten (relayed ${ev(s, 'relay').toResponder ?? 0} frames to the responder); initiators accepted ${accepted} set-ups with an altered offer; set-up failures: ${failures || 'none'}; links set up with ${algs || 'nothing'}`,
        succeeded: (e.requestsRewritten ?? 0) >= 1 && accepted >= 1,
      };
    },
  },
  {
    id: 'dsmc-replay',
    keyIssue: '#4.1',
    threat:
      'A man in the middle records a Direct Security Mode Command and hands it to the UE in a later re-key, so that it re-installs an old KD-sess (COUNT from 0 again: keystream reuse)',
    defence:
      'KD-sess = KDF(KD, Nonce_1, Nonce_2) with a fresh Nonce_1 per procedure, so a recorded DSMC’s MAC-I fails (`mac`); DKSI and replay window for the key sets in use',
    control: 'directLinks.insecure.reuseNonce1: true (one Nonce_1 per link in every request)',
    expected: 'no replayed DSMC accepted (each `mac`); control: replayed DSMCs accepted',
    evaluate(s) {
      const e = ev(s, 'dsmc-replay');
      const d = s.directLinks;
      const replayed = e.replayed ?? 0;
      const accepted = d?.dsmcReplaysAccepted ?? 0;
      const r = d?.rejected ?? {};
      return {
        observed: `${e.recorded ?? 0} DSMCs recorded, ${replayed} replayed into later re-keys; the UEs accepted ${accepted} replayed DSMCs and rejected mac ${r.mac ?? 0}, wrong_dksi ${r.wrong_dksi ?? 0}, replay ${r.replay ?? 0}; user packets lost ${d?.packetsLost ?? 0}`,
        succeeded: replayed >= 1 && accepted >= 1,
      };
    },
  },
  {
    id: 'group-key-fetch',
    keyIssue: '#3.1',
    threat:
      'A UE with valid credentials (a compromised subscriber) that is not a member asks the ProSe Function for a group’s key over PC3',
    defence:
      'the ProSe Function hands a group key (sol. #3.5) only to registered members, checked against the certificate identity',
    control: 'groupSecurity.groups[].insecure.anyoneMayFetch: true (any registered UE gets the key)',
    expected: 'no key obtained (each request `not_member`); control: keys obtained',
    evaluate(s) {
      const e = ev(s, 'group-key-fetch');
      const given = s.groupKeys?.issuedToNonMembers ?? 0;
      return {
        observed: `insider ${e.insider ? 'registered' : 'missing'}; ${e.requests ?? 0} group key requests for ${e.targetGroups ?? 0} groups: ${e.keysObtained ?? 0} keys obtained (ProSe Function: ${given} issued to a non-member), ${e.rejectedNotMember ?? 0} rejected not_member`,
        succeeded: (e.requests ?? 0) >= 1 && (e.keysObtained ?? 0) >= (e.requests ?? 0) && given >= 1,
      };
    },
  },
  {
    id: 'registration-flood',
    keyIssue: '#2.5',
    threat:
      'An attacker with a subscribed UE’s credentials floods the ProSe Function with PC3 registrations (each a new mutual-TLS connection) from another address, to deny service to the other UEs',
    defence:
      'the ProSe Function’s registration throttle: token buckets per source address (before the TLS handshake) and per certified identity, failure penalty, ban',
    control: 'discovery.insecure.noRegistrationThrottle: true (the ProSe Function admits every registration)',
    expected:
      'under 10 % of the flood admitted and every legitimate re-registration during the flood served; control: the flood admitted',
    evaluate(s) {
      const e = ev(s, 'registration-flood');
      const attempts = e.attempts ?? 0;
      const admitted = e.accepted ?? 0;
      const legit = s.reRegistrations;
      const th = s.registrationThrottle;
      const pfAccepted = s.registrations.accepted ?? 0;
      // The attack succeeds if the ProSe Function did the attacker's work (90 % of the flood registered; the PF's own
      // count of accepted registrations must cover it) or if legitimate UEs were not served during the flood. With
      // no legitimate re-registration measured, that cannot be shown: the attack counts as succeeded.
      const floodAdmitted = attempts >= 50 && admitted >= 0.9 * attempts && pfAccepted >= admitted;
      const legitDenied = !legit || legit.attempts < 3 || legit.failed > 0;
      return {
        observed: `${attempts} registrations in ${e.floodMs ?? 0} ms from another address: ProSe Function registered ${admitted}, refused ${e.rateLimited ?? 0} rate_limited, cut ${e.connectionsRefused ?? 0} connections before TLS (its throttle: ${th ? `${th.requestsRefused} requests and ${th.connectionsRefused} connections refused` : 'off'}; ${pfAccepted} registrations accepted in all); legitimate UEs' re-registrations: ${legit ? `${legit.ok} of ${legit.attempts} served (p50 ${legit.p50Ms} ms, max ${legit.maxMs} ms)` : 'none measured'}`,
        succeeded: floodAdmitted || legitDenied,
      };
    },
  },
  {
    id: 'gmk-forgery',
    keyIssue: '#3.1',
    threat:
      'A rogue group manager (a group-manager TLS certificate of the deployment, not the group identity’s key) hands members a forged I_MESSAGE with a GMK of its choosing (all zero), then talks in a call under it',
    defence:
      'members install a GMK only from an I_MESSAGE whose ECCSI signature verifies for the group identity (TS 33.180 5.7 / sol. #3.1)',
    control:
      'groupSecurity.groups[].insecure.skipGmkSignatureCheck: true (members install without verifying)',
    expected:
      'no forged GMK installed (each `gmk.signature`), none of the attacker’s media deciphered; control: both',
    evaluate(s) {
      const e = ev(s, 'gmk-forgery');
      const forged = e.forgedIMessages ?? 0;
      const installed = s.groupSecurity?.forgedGmksInstalled ?? 0;
      const read = s.groupSecurity?.forgedKeyMediaReceived ?? 0;
      const rejected = s.groupSecurity?.failuresByCause['gmk.signature'] ?? 0;
      return {
        observed: `KMS ${e.groupKeyRefusedByKms ? 'refused' : 'gave'} the rogue the group identity key; ${forged} forged I_MESSAGEs served; members installed ${installed} forged GMKs and rejected ${rejected} (gmk.signature); attacker's call: ${e.callInits ?? 0} call-init and ${e.mediaSent ?? 0} media PDUs, ${read} deciphered by members`,
        succeeded: forged >= 1 && installed >= 1 && read >= 10,
      };
    },
  },
  {
    id: 'rogue-config-server',
    keyIssue: '#1.1',
    threat:
      'A rogue configuration server on PC3 (a TLS certificate of the deployment for another role: a group manager’s) answers a UE’s re-registration with a forged ProSe configuration that puts its groups at the attacker’s multicast group',
    defence:
      'the UE’s PC3 client accepts configuration only from a server whose certificate names the prose-function role (TS 33.303 PC3 mutual TLS): the session is refused, the configuration in use kept',
    control:
      'adversary.insecure.acceptAnyConfigServer: true (the victim UE alone accepts a server certificate of the CA for any role)',
    expected:
      'every re-registration at the rogue refused (server identity), no configuration applied; control: the forged configuration applied and the victim’s group traffic on the attacker’s group',
    evaluate(s) {
      const e = ev(s, 'rogue-config-server');
      const v = s.rogueConfig;
      const applied = v?.rogueConfigApplied ?? 0;
      const frames = e.framesOnRogueGroup ?? 0;
      return {
        observed: `${v?.ue ?? 'no victim'} re-registered ${v?.attempts ?? 0} times at the rogue: ${v?.rogueConfigRefused ?? 0} refused (server certificate not a ProSe Function’s), ${e.forgedConfigs ?? 0} forged configurations served, ${applied} applied; ${frames} of its group test frames heard on the attacker’s group`,
        succeeded: applied >= 1 && frames >= 1,
      };
    },
  },
  {
    id: 'rogue-relay',
    keyIssue: 'relay (#5.1)',
    scenario: 'attack-relay',
    threat:
      "A rogue UE-to-network relay (the EAP pass-through authenticator of solution #5.1) tampers with the EAP-Request/AKA'-Challenge it forwards to a remote UE (one bit of AT_MAC flipped)",
    defence:
      "the remote UE's EAP-AKA' peer verifies AT_MAC under K_aut (RFC 4187 10.15 / RFC 5448) before answering: a tampered challenge is Client-Error `bad_mac`, the AAA rejects, no MSK and no PC5 link key",
    control:
      "relay.insecure.peerSkipsAtMac: true (the remote UEs' peer processes a challenge whose AT_MAC fails)",
    expected:
      'no tampered challenge accepted (each remote UE fails `bad_mac`, none authenticated); control: tampered challenges accepted',
    evaluate(s) {
      const r = s.relay;
      const tampered = r?.tamperedChallenges ?? 0;
      const accepted = r?.badMacAccepted ?? 0;
      const causes =
        Object.entries(r?.failuresByCause ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none';
      return {
        observed: `rogue relay-1 tampered ${tampered} challenges; remote UEs accepted ${accepted} challenges with a bad AT_MAC; authentication failures: ${causes}; ${r?.authenticated ?? 0} of ${r?.remoteUes ?? 0} remote UEs authenticated (PC5 link keys installed)`,
        succeeded: tampered >= 1 && accepted >= 1,
      };
    },
  },
];

/** The control: the same scenario with every defence under test switched off. */
export function weakened(s: Scenario): Scenario {
  const c = structuredClone(s);
  if (c.discovery) {
    c.discovery.rotateL2Id = false;
    c.discovery.insecure = { noReplayProtection: true, acceptUnsigned: true, noRegistrationThrottle: true };
  }
  if (c.directLinks)
    c.directLinks.insecure = {
      nullCipher: true,
      noEchoCheck: true,
      noTranscriptBinding: true,
      reuseNonce1: true,
    };
  for (const g of c.groupSecurity?.groups ?? [])
    g.insecure = {
      nullCipher: true,
      noReplayProtection: true,
      noCallReplayProtection: true,
      anyoneMayFetch: true,
      skipGmkSignatureCheck: true,
    };
  if (c.relay) c.relay.insecure = { peerSkipsAtMac: true };
  if (c.adversary?.rogueConfigServer) c.adversary.insecure = { acceptAnyConfigServer: true };
  return { ...c, name: `${s.name}-control` };
}

export type ThreatRow = Omit<ThreatDefinition, 'evaluate' | 'unavailable'> & {
  defended: ThreatEvidence;
  weakened: ThreatEvidence;
  pass: boolean;
  /** Set when the attack could not run on this host: why (the row neither passes nor fails). */
  skipped?: string;
};

export interface ThreatMatrix {
  generatedAt: string;
  /** The scenarios run (the main one first), comma-separated. */
  scenario: string;
  /** The main scenario's two runs (or, if only rows of another scenario were selected, that scenario's). */
  runs: { defence: string; control: string };
  /** Every scenario's two runs, by scenario name (the main one and e.g. `attack-relay`). */
  runsByScenario: Record<string, { defence: string; control: string }>;
  ok: boolean;
  problems: string[];
  rows: ThreatRow[];
}

export interface ThreatScenario {
  scenario: Scenario;
  scenarioFile: string;
}

export async function runThreatMatrix(opts: {
  scenario: Scenario;
  scenarioFile: string;
  /** Scenarios of the rows that do not run in the main one (ThreatDefinition.scenario), by name. */
  otherScenarios?: Record<string, ThreatScenario>;
  runsDir: string;
  threats?: string[];
  progress?: (line: string) => void;
}): Promise<ThreatMatrix> {
  const selected = THREATS.filter((t) => !opts.threats || opts.threats.includes(t.id));
  const skip = new Map(selected.map((t) => [t.id, t.unavailable?.()] as const).filter(([, r]) => r));
  // Rows of another scenario: run in it if given, else skipped with the reason.
  for (const t of selected)
    if (t.scenario && !opts.otherScenarios?.[t.scenario] && !skip.has(t.id))
      skip.set(t.id, `needs scenario ${t.scenario} (scenarios/${t.scenario}.yaml)`);
  for (const [id, reason] of skip) opts.progress?.(`threat matrix: ${id} skipped: ${reason}`);
  const run = (s: Scenario, scenarioFile: string) =>
    new Run({
      scenario: s,
      scenarioFile,
      runsDir: opts.runsDir,
      ...(opts.progress ? { progress: opts.progress } : {}),
    }).execute();
  /** The defended and the control run of one scenario, and the rows evaluated on them. */
  const group = async (ts: ThreatDefinition[], sc: ThreatScenario, label: string) => {
    const attacks = ts.filter((t) => !t.scenario && !skip.has(t.id)).map((t) => t.id as AttackId);
    // The scenario's adversary options (its insider) with the selected attacks.
    // The relay attacks need the adversary in the path of a direct link.
    const mitmDirectLink =
      !!sc.scenario.adversary?.mitmDirectLink ||
      attacks.some((a) => a === 'link-downgrade' || a === 'dsmc-replay');
    const adversary = attacks.length ? { ...sc.scenario.adversary, attacks, mitmDirectLink } : undefined;
    const base: Scenario = { ...sc.scenario, adversary };
    opts.progress?.(`threat matrix: defended run (${label})`);
    const d = await run(base, sc.scenarioFile);
    opts.progress?.(`threat matrix: control run (${label}, defences off)`);
    const c = await run(weakened(base), sc.scenarioFile);
    const problems = [
      ...d.problems.map((p) => `defended run (${label}): ${p}`),
      ...c.problems
        // The control run's own checks may flag what the weakening allows; only failures to run count.
        .filter((p) => /never became ready|died|aborted|failed during/.test(p))
        .map((p) => `control run (${label}): ${p}`),
    ];
    const rows = ts.map(({ evaluate, unavailable: _, ...t }): ThreatRow => {
      const defended = evaluate(d);
      const weak = evaluate(c);
      const skipped = skip.get(t.id);
      if (skipped) return { ...t, defended, weakened: weak, pass: false, skipped };
      return { ...t, defended, weakened: weak, pass: !defended.succeeded && weak.succeeded };
    });
    return { name: sc.scenario.name, runs: { defence: d.runDir, control: c.runDir }, problems, rows };
  };
  // The main scenario runs if any of its rows is selected; each other scenario if one of its rows can run.
  const groups: { ts: ThreatDefinition[]; sc: ThreatScenario }[] = [];
  const main = selected.filter((t) => !t.scenario);
  if (main.length) groups.push({ ts: main, sc: opts });
  for (const [name, sc] of Object.entries(opts.otherScenarios ?? {})) {
    const ts = selected.filter((t) => t.scenario === name);
    if (ts.some((t) => !skip.has(t.id))) groups.push({ ts, sc });
  }
  const done = [];
  for (const g of groups) done.push(await group(g.ts, g.sc, g.sc.scenario.name));
  // Rows skipped without a run (their scenario not given) are evaluated on nothing.
  const none: ThreatEvidence = { observed: 'not run', succeeded: false };
  const byId = new Map(done.flatMap((g) => g.rows).map((r) => [r.id, r] as const));
  const rows = selected.map(
    ({ evaluate: _e, unavailable: _u, ...t }): ThreatRow =>
      byId.get(t.id) ?? {
        ...t,
        defended: none,
        weakened: none,
        pass: false,
        skipped: skip.get(t.id) ?? 'not run',
      },
  );
  const problems = done.flatMap((g) => g.problems);
  const runsByScenario = Object.fromEntries(done.map((g) => [g.name, g.runs]));
  return {
    generatedAt: new Date().toISOString(),
    scenario: done.map((g) => g.name).join(', ') || opts.scenario.name,
    runs: done[0]?.runs ?? { defence: '', control: '' },
    runsByScenario,
    ok: problems.length === 0 && rows.every((r) => r.pass || r.skipped),
    problems,
    rows,
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function threatMatrixMarkdown(m: ThreatMatrix): string {
  const skipped = m.rows.filter((r) => r.skipped).length;
  const result = (r: ThreatRow) => (r.skipped ? `skipped: ${cell(r.skipped)}` : r.pass ? 'pass' : '**FAIL**');
  const lines = [
    `Live threat matrix (\`prosec attack\`, scenario${m.scenario.includes(',') ? 's' : ''} ${m.scenario
      .split(', ')
      .map((n) => `\`${n}\``)
      .join(
        ' and ',
      )}, ${m.generatedAt}): ${m.rows.filter((r) => r.pass).length} of ${m.rows.length} rows pass${skipped ? `, ${skipped} skipped` : ''}.`,
    '',
    '| key issue | threat | defence under test | against the defence | against the control (defence off) | result |',
    '| --- | --- | --- | --- | --- | --- |',
    ...m.rows.map(
      (r) =>
        `| ${r.keyIssue} | ${cell(r.threat)} | ${cell(r.defence)} | ${cell(r.defended.observed)}: attack ${r.defended.succeeded ? 'succeeded' : 'failed'} | ${cell(r.control)}: ${cell(r.weakened.observed)}: attack ${r.weakened.succeeded ? 'succeeded' : 'failed'} | ${result(r)} |`,
    ),
  ];
  if (m.problems.length) lines.push('', ...m.problems.map((p) => `- problem: ${p}`));
  return `${lines.join('\n')}\n`;
}

/** docs/threat-matrix.md: how the matrix works, the live rows of a real run, and the coverage of every threat. */
export function threatMatrixDoc(m: ThreatMatrix): string {
  return `# Threat matrix

Generated by \`npm run docs:threat-matrix\` (= \`prosec attack --docs docs/threat-matrix.md\`) from a real run; do not edit
by hand. The generator is deploy/attack.ts (live rows) and deploy/threat-coverage.ts (coverage).

## How it works

\`prosec attack [scenario] [--threat ID,...]\` runs the scenario (default scenarios/attack.yaml: a standard group with
two calls and media, a ProSe Function-keyed group, restricted and open discovery, one direct link) twice, each time with
an **adversary** node: its own OS process on the same PC5 multicast groups, holding none of the run's keys, running
attack modules (nodes/adversary/). Some attacks need more than a radio on the groups: \`link-eavesdrop\` reads one-to-one
traffic, which is unicast UDP between two UE processes, through a passive tap — the adversary runs a real capture tool
(dumpcap, tshark or tcpdump) on loopback filtered on the link UEs' PC5 ports and parses its libpcap stream
(nodes/adversary/capture.ts); without such a tool the row is skipped with the reason. \`link-downgrade\` and
\`dsmc-replay\` need the adversary in the path of the direct link (\`adversary.mitmDirectLink\`): the orchestrator gives
both UEs of the first pair a port the adversary binds as their peer's address, as if it had won discovery, and it relays
every frame between their real UDP ports; it rewrites the first Direct Communication Request's Supported_algs to
128-NEA0/128-NIA1, and hands a UE a recorded DSMC before the fresh one of a later re-key (docs/direct-link.md).
\`group-key-fetch\` is an
insider: the adversary holds the credentials of a subscribed UE (\`adversary.insider\`; it enrolls and registers as that
UE) and asks over PC3 for the key of a group that UE is not in. \`registration-flood\` uses the same insider certificate
to flood the ProSe Function with PC3 registrations, each a new mutual-TLS connection, from 127.0.0.2 (another host's
address on loopback; the run's nodes use 127.0.0.1), at most 300 in 3 s with 8 in flight, while the other subscribed
UEs re-register every second (scenario \`traffic.reRegisterEvery\`) and count what was served and how fast.
\`gmk-forgery\` makes the adversary the group manager ue-3 is pointed at for one standard group
(\`adversary.rogueGroupManager\`; the adversary then starts before the UEs): it holds a group-manager TLS certificate
of the run's CA, as any group management server of the deployment would, so the UE's TLS checks pass, but not the
group identity's ECCSI key (the KMS refuses it); it answers with a forged I_MESSAGE carrying an all-zero GMK,
signed with the insider's key, then sets up a call under that GMK on the group's PC5 address and sends media.
\`rogue-config-server\` (key issue #1.1) points ue-3's periodic re-registrations at the adversary's PC3 endpoint
(\`adversary.rogueConfigServer\`, as after an attack on the ProSe Function's address): it serves TLS with the same
group-manager certificate of the run's CA and answers register_request with a forged ProSe configuration that puts all
of ue-3's groups at a multicast group of its own; ue-3 sends group test frames (5/s) so that a configuration it applies
shows in its traffic, and its re-registrations are counted apart from the other UEs'.
\`rogue-relay\` runs in a scenario of its own, scenarios/attack-relay.yaml (an AAA, a network sink, one UE-to-network
relay and three remote UEs; in the main scenario a relay would slow every other row), as a second pair of runs whose
rows are merged into the matrix: the relay itself is the attacker (\`relay.rogue\`: relay-1, the EAP pass-through
authenticator of solution #5.1, flips one bit of AT_MAC in every EAP-Request/AKA'-Challenge it forwards to a remote
UE, logged ROGUE). Each pair: run 1 has the defences as configured; run 2 is the
**control**, with every defence under test switched off by options that exist only for this purpose and are logged as
INSECURE by the nodes (\`discovery.rotateL2Id: false\`, \`discovery.insecure.noReplayProtection\` / \`acceptUnsigned\` /
\`noRegistrationThrottle\`,
\`groupSecurity.groups[].insecure.nullCipher\` / \`noReplayProtection\` / \`noCallReplayProtection\` /
\`anyoneMayFetch\` / \`skipGmkSignatureCheck\`, \`directLinks.insecure.nullCipher\` / \`noEchoCheck\` /
\`noTranscriptBinding\` / \`reuseNonce1\`, \`relay.insecure.peerSkipsAtMac\`,
\`adversary.insecure.acceptAnyConfigServer\` — given to the rogue configuration server's victim only). The evidence is counters: the adversary's own (status) and the
victims' (run summary: replays rejected, duplicates, replayed call set-ups and forgeries accepted, keys issued to a
non-member, forged GMKs installed and media deciphered under them, registrations served, direct link set-ups accepted with an
altered offer or a replayed DSMC, re-registrations refused for the server certificate's role or configurations applied, challenges processed with a bad AT_MAC and remote UE failures by cause — ground truth measured by each victim independently of the check under test). A row passes only if its
attack fails against the defence and succeeds against the control, so a row cannot pass because the attack never
ran. \`npm test\` runs the matrix (tests/deploy/threat-matrix.test.ts) and fails on any failing row.

## Live rows (run of ${m.generatedAt})

${threatMatrixMarkdown(m)}
## Coverage of every threat

${coverageMarkdown()}
`;
}

/** Writes threat-matrix.json and threat-matrix.md into `dir`. */
export function writeThreatMatrix(m: ThreatMatrix, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'threat-matrix.json'), `${JSON.stringify(m, null, 2)}\n`);
  writeFileSync(join(dir, 'threat-matrix.md'), threatMatrixMarkdown(m));
}
