// Worker-thread side of nodes/crypto-pool.ts: runs identity-based crypto-core operations off the main loop.
import { parentPort } from 'node:worker_threads';
import { CryptoInputError } from '../crypto-core/errors.js';
import { eccsiPrecompute, eccsiSign, eccsiVerify } from '../crypto-core/rfc6507-eccsi.js';
import { sakkeDecapsulate, sakkeEncapsulate, sakkePrecompute } from '../crypto-core/rfc6508-sakke.js';

export interface CryptoJobMessage {
  id: number;
  op: string;
  args: Record<string, Uint8Array | undefined>;
}

function need(args: CryptoJobMessage['args'], name: string): Uint8Array {
  const v = args[name];
  if (!(v instanceof Uint8Array)) throw new CryptoInputError('job_args', `missing argument ${name}`);
  return v;
}

function run(op: string, a: CryptoJobMessage['args']): Uint8Array {
  switch (op) {
    case 'sakke.encapsulate':
      return sakkeEncapsulate(need(a, 'ssv'), need(a, 'id'), need(a, 'zS'));
    case 'sakke.decapsulate':
      return sakkeDecapsulate(need(a, 'encapsulated'), need(a, 'id'), need(a, 'rsk'), need(a, 'zS'));
    case 'eccsi.sign':
      return eccsiSign(need(a, 'message'), need(a, 'id'), need(a, 'ssk'), need(a, 'pvt'), need(a, 'kpak'));
    case 'eccsi.verify':
      return Uint8Array.of(
        eccsiVerify(need(a, 'message'), need(a, 'signature'), need(a, 'id'), need(a, 'kpak')) ? 1 : 0,
      );
    case 'warm':
      sakkePrecompute(a.zS, a.rsk);
      eccsiPrecompute(a.kpak);
      return new Uint8Array(0);
    default:
      throw new CryptoInputError('job_op', `unknown operation ${op}`);
  }
}

parentPort?.on('message', (msg: CryptoJobMessage) => {
  try {
    const result = run(msg.op, msg.args);
    parentPort!.postMessage({ id: msg.id, result }, [result.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error & { code?: string };
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, code: err.code, message: err.message } });
  }
});
