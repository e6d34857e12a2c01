// PC5 group signalling envelope (prosec's own, version 1; docs/group.md): carried in a PC5 group_signalling
// frame. version(1) | type(1): 1 = call-init | emulation send time (8, monotonic ns, for the set-up latency
// measurement only: not security relevant and not in any standard) | MIKEY message (RFC 3830 bytes).
export const GROUP_SIGNALLING_VERSION = 1;
export const GROUP_SIGNALLING_CALL_INIT = 1;
const HEADER = 10;

export function encodeGroupSignalling(sentNs: bigint, mikey: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + mikey.length);
  out[0] = GROUP_SIGNALLING_VERSION;
  out[1] = GROUP_SIGNALLING_CALL_INIT;
  new DataView(out.buffer).setBigUint64(2, sentNs);
  out.set(mikey, HEADER);
  return out;
}

/** The call-init inside, or undefined when the envelope is malformed (wrong version/type, too short). */
export function decodeGroupSignalling(b: Uint8Array): { sentNs: bigint; mikey: Uint8Array } | undefined {
  if (b.length <= HEADER || b[0] !== GROUP_SIGNALLING_VERSION || b[1] !== GROUP_SIGNALLING_CALL_INIT)
    return undefined;
  return {
    sentNs: new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(2),
    mikey: b.subarray(HEADER),
  };
}
