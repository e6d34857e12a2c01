// The man-in-the-middle attack modules (nodes/adversary/link-downgrade.ts, dsmc-replay.ts) on relayed frames:
// what they rewrite, which recorded DSMC they replay (one the victim's DKSI check lets through), and that frames
// they do not target pass as is. The live relay runs in the threat matrix (tests/deploy/threat-matrix.test.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { dsmcReplay } from '../../nodes/adversary/dsmc-replay.js';
import { DOWNGRADED_ALGS, linkDowngrade } from '../../nodes/adversary/link-downgrade.js';
import {
  DL_MSG,
  decodeMessage,
  decodePdu,
  encodeMessage,
  encodePdu,
} from '../../procedures/direct-link/messages.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';

const frame = (payload: Uint8Array, type: Pc5Frame['type'] = 'unicast_signalling'): Pc5Frame => ({
  type,
  flags: 0,
  srcL2Id: 7,
  dstL2Id: 9,
  seq: 1,
  payload,
});

/** A DSMC as relayed: protected (integrity only, DKSI in the first octet), inner type DSMC, a 4-octet MAC-I. */
const dsmc = (dksi: number) =>
  frame(
    encodePdu({
      protected: true,
      dstCid: 0x1234,
      body: Uint8Array.of(0x80 | dksi, 0, 0, 0, 0, DL_MSG.DIRECT_SECURITY_MODE_COMMAND, 0, 1, 1, 0, 0, 0, 0),
    }),
  );

const dcr = () =>
  frame(
    encodePdu({
      protected: false,
      dstCid: 0,
      body: encodeMessage({
        type: DL_MSG.DIRECT_COMMUNICATION_REQUEST,
        srcCid: 0x42,
        nonce1: randomBytes(16),
        supportedAlgs: { nea: 0b1111, nia: 0b1110 },
        policy: { signallingCiphering: true, userPlaneCiphering: true, userPlaneIntegrity: false },
        kdMethod: 'certificate',
        keyData: randomBytes(40),
        target: 'ue-2',
      }),
    }),
  );

test('link-downgrade rewrites Supported_algs of the first request only, keeps every other field and frame', () => {
  const a = linkDowngrade();
  const f = dcr();
  const [out] = a.onRelay!(f, 'responder')!;
  const before = decodeMessage(decodePdu(f.payload).body);
  const after = decodeMessage(decodePdu(out!.payload).body);
  assert.deepEqual(after.supportedAlgs, DOWNGRADED_ALGS);
  assert.deepEqual({ ...after, supportedAlgs: undefined }, { ...before, supportedAlgs: undefined });
  assert.equal(out!.srcL2Id, f.srcL2Id);
  // A second request, user data and frames toward the initiator pass as is.
  assert.equal(a.onRelay!(dcr(), 'responder'), undefined);
  assert.equal(a.onRelay!(frame(randomBytes(40), 'unicast_data'), 'responder'), undefined);
  assert.equal(a.onRelay!(dsmc(3), 'initiator'), undefined);
  assert.deepEqual(a.evidence(), { requestsRewritten: 1, dsmcAfterRewrite: 1, nullCipherChosen: 0 });
  // Garbage is not a request: relayed untouched, no exception.
  assert.equal(linkDowngrade().onRelay!(frame(Uint8Array.of(1, 2, 3)), 'responder'), undefined);
});

test('dsmc-replay hands a UE a recorded DSMC whose DKSI is neither the fresh one nor one of its two key sets', () => {
  const a = dsmcReplay();
  const dksiOf = (f: Pc5Frame) => decodePdu(f.payload).body[0]! & 0x0f;
  const relay = (dksi: number, toward: 'initiator' | 'responder') =>
    (a.onRelay!(dsmc(dksi), toward) ?? []).map(dksiOf);
  // Set-up (DKSI 5, toward the initiator), then re-keys alternating sides: 6 (initiator), 7 (responder).
  assert.deepEqual(relay(5, 'initiator'), []);
  assert.deepEqual(relay(6, 'initiator'), [], 'the UE holds 5 (active): not replayed');
  assert.deepEqual(relay(7, 'responder'), [], 'nothing recorded toward the responder yet');
  // The initiator now holds 7 and 6: the set-up's DSMC (5) goes first, then the fresh one.
  assert.deepEqual(relay(8, 'initiator'), [5, 8]);
  // The responder holds 8 and 7: its recorded 7 is still in use, so nothing.
  assert.deepEqual(relay(9, 'responder'), []);
  assert.deepEqual(relay(10, 'responder'), [7, 10]);
  assert.deepEqual(a.evidence(), { dsmcs: 6, recorded: 6, replayed: 2 });
  // Frames that are no DSMC pass as is.
  assert.equal(a.onRelay!(frame(randomBytes(30), 'unicast_data'), 'initiator'), undefined);
  assert.equal(a.onRelay!(dcr(), 'responder'), undefined);
});
