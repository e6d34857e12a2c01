// The threat matrix's rogue-config-server row (TR 33.833 #1.1) at node level, over real TLS 1.3 on loopback: the
// adversary's PC3 server holds a group-manager certificate of the UE's own CA and answers register_request with a
// forged configuration. The UE's re-registration client refuses it by default (server certificate role) and still
// registers with the real ProSe Function; the INSECURE control acceptAnyConfigServer takes the forged configuration,
// whose groups then move to the attacker's group; it still refuses a server of another CA.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Attack } from '../../nodes/adversary/attack.js';
import { rogueConfigServer } from '../../nodes/adversary/rogue-config-server.js';
import { movedGroups, reRegistrationClient } from '../../nodes/roles/ue-reregistration.js';
import { Pc3RequestError } from '../../transport/pc3/client.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import { createNodeCredentials } from '../../transport/pc3/pki.js';
import { type Pc3Handler, type Pc3Peer, Pc3Server } from '../../transport/pc3/server.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import { exampleConfig, type TestPki, testPki } from '../transport/pc3-fixtures.js';

const ROGUE_GROUP = { address: '239.250.1.1', port: 40_001 };
const ROGUE_L2_GROUP = 0x00beef;

describe('rogue configuration server (PC3, key issue #1.1)', () => {
  let pki: TestPki;
  let attack: Attack;
  const servers: Pc3Server[] = [];
  const ports = { rogue: 0, genuine: 0, otherCa: 0 };
  const target = (port: number) => ({ host: '127.0.0.1', port });
  const ue1 = () => ({ ...pki.ue1, caCertPem: pki.ca.certPem });

  before(async () => {
    pki = await testPki();
    attack = rogueConfigServer({
      send: () => undefined,
      later: () => undefined,
      rogueConfigServer: {
        ueId: 'ue-1',
        groupIds: ['g1'],
        group: ROGUE_GROUP,
        l2GroupId: ROGUE_L2_GROUP,
        discovery: { address: '239.1.0.1', port: 5000 },
      },
    });
    const serve = async (
      creds: { certPem: string; keyPem: string },
      caCertPem: string,
      handler: Pc3Handler,
    ) => {
      const s = new Pc3Server({ ...creds, caCertPem, allowedRoles: ['ue'], handler });
      servers.push(s);
      return (await s.listen()).port;
    };
    // The rogue: a certificate of the UE's CA, for the group-manager role.
    const gm = await createNodeCredentials(pki.ca, { nodeId: 'gm-rogue', role: 'group-manager' });
    const rogueHandler = async (msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply> =>
      (await attack.onPc3Request!(msg, peer)) ?? {
        type: 'error',
        body: { cause: 'unexpected_message', detail: 'not served' },
      };
    ports.rogue = await serve(gm, pki.ca.certPem, rogueHandler);
    // The genuine ProSe Function.
    ports.genuine = await serve(pki.pf, pki.ca.certPem, async (msg, peer) =>
      msg.type === 'register_request'
        ? { type: 'register_accept', body: { config: exampleConfig(peer.nodeId) } }
        : { type: 'error', body: { cause: 'unexpected_message', detail: msg.type } },
    );
    // A "ProSe Function" of another CA, with the rogue's handler.
    const foreign = await createNodeCredentials(pki.otherCa, { nodeId: 'pf-x', role: 'prose-function' });
    ports.otherCa = await serve(foreign, pki.ca.certPem, rogueHandler);
  });

  after(async () => {
    for (const s of servers) await s.close();
  });

  const register = async (port: number, acceptAnyConfigServer?: boolean) => {
    const c = reRegistrationClient({ target: target(port), creds: ue1(), acceptAnyConfigServer });
    try {
      return await c.request('register_request', { ueId: 'ue-1' });
    } finally {
      await c.close();
    }
  };

  it('by default the re-registration client refuses the rogue (server_identity) before any request; the real ProSe Function still registers it', async () => {
    await assert.rejects(
      register(ports.rogue),
      (e: unknown) => e instanceof Pc3RequestError && e.code === 'server_identity',
    );
    assert.equal(attack.evidence().registerRequests, 0, 'no request reached the rogue');
    const r = await register(ports.genuine);
    assert.equal(r.type, 'register_accept');
  });

  it('acceptAnyConfigServer takes the forged configuration: the UE’s group moves to the attacker’s group', async () => {
    const r = await register(ports.rogue, true);
    assert.equal(r.type, 'register_accept');
    if (r.type !== 'register_accept') return;
    const cfg = r.body.config;
    assert.equal(cfg.ueId, 'ue-1');
    const inUse = new Set(exampleConfig('ue-1').groups.map((g) => `${g.multicastAddress}:${g.port}`));
    assert.deepEqual(movedGroups(inUse, cfg), [
      {
        groupId: 'g1',
        multicastAddress: ROGUE_GROUP.address,
        port: ROGUE_GROUP.port,
        l2GroupId: ROGUE_L2_GROUP,
      },
    ]);
    // The genuine configuration moves nothing.
    assert.deepEqual(movedGroups(inUse, exampleConfig('ue-1')), []);
    assert.equal(attack.evidence().forgedConfigs, 1);
  });

  it('acceptAnyConfigServer drops the role check only: a server of another CA still fails the handshake', async () => {
    await assert.rejects(register(ports.otherCa, true), Pc3RequestError);
    assert.equal(attack.evidence().forgedConfigs, 1);
  });

  it('the rogue serves only its victim; it counts the victim’s test frames on its own group', async () => {
    const ue2 = { ...pki.ue2, caCertPem: pki.ca.certPem };
    const c = reRegistrationClient({ target: target(ports.rogue), creds: ue2, acceptAnyConfigServer: true });
    try {
      const r = await c.request('register_request', { ueId: 'ue-2' });
      assert.equal(r.type, 'register_reject');
    } finally {
      await c.close();
    }
    const frame = (dstL2Id: number, type: Pc5Frame['type'] = 'test'): Pc5Frame => ({
      type,
      flags: 0,
      srcL2Id: 1,
      dstL2Id,
      seq: 0,
      payload: new Uint8Array(16),
    });
    attack.onFrame(frame(ROGUE_L2_GROUP), ROGUE_GROUP);
    attack.onFrame(frame(0x00ff01), ROGUE_GROUP);
    attack.onFrame(frame(ROGUE_L2_GROUP), { address: '239.1.1.1', port: 5001 });
    attack.onFrame(frame(ROGUE_L2_GROUP, 'group_media'), ROGUE_GROUP);
    assert.equal(attack.evidence().framesOnRogueGroup, 1);
  });
});
