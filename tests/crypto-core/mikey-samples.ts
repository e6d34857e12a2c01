// Sample MIKEY messages shared by the codec tests and the fuzz corpus.
import { fromHex } from '../../crypto-core/bytes.js';
import {
  DataType,
  EncrAlg,
  encodeKeyData,
  IdRole,
  IdType,
  type KeyData,
  KeyDataType,
  MacAlg,
  type MikeyMessage,
  PrfFunc,
  SignType,
  TsType,
} from '../../crypto-core/mikey.js';

// Deterministic filler bytes, so the fuzz corpus (and its results) are the same on every run.
let state = 0x3830;
const randomBytes = (n: number) =>
  Uint8Array.from({ length: n }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 24;
  });

// Hand-assembled from the RFC 3830 6.1/6.6/6.11/6.5, RFC 6043 6.6 and RFC 6509 4.2 field layouts.
export const SMALL_HEX =
  '011a0500 1234abcd 0001' + // HDR: v1, SAKKE, next T, V=0 PRF=MIKEY-1, CSB ID, #CS 0, Empty map
  '0b00 0000000100000002' + // T: next RAND, NTP-UTC, value
  '0e04 deadbeef' + // RAND: next IDR, len 4
  '1a010100 03616263' + // IDR: next SAKKE, IDRi, URI, len 3, "abc"
  '04010100 020405' + // SAKKE: next SIGN, params 1, ID scheme 1, len 2
  '2003 aabbcc'; // SIGN: S type 2 (ECCSI), len 3

export const SMALL: MikeyMessage = {
  header: {
    dataType: DataType.SAKKE,
    v: false,
    prfFunc: 0,
    csbId: 0x1234abcd,
    csIdMap: { type: 'EMPTY', csCount: 0 },
  },
  payloads: [
    { kind: 'T', tsType: TsType.NTP_UTC, value: 0x0000000100000002n },
    { kind: 'RAND', rand: fromHex('deadbeef') },
    { kind: 'IDR', role: IdRole.IDRi, idType: IdType.URI, id: new TextEncoder().encode('abc') },
    { kind: 'SAKKE', params: 1, idScheme: 1, data: fromHex('0405') },
    { kind: 'SIGN', sType: SignType.ECCSI, signature: fromHex('aabbcc') },
  ],
};

/** Every payload kind and every CS ID map type, for round trips. */
export function fullMessages(): MikeyMessage[] {
  const key: KeyData = {
    type: KeyDataType.TEK_SALT,
    key: randomBytes(16),
    salt: randomBytes(14),
    kv: { type: 'NULL' },
  };
  return [
    SMALL,
    {
      header: {
        dataType: DataType.PSK_INIT,
        v: true,
        prfFunc: PrfFunc.HMAC_SHA_256,
        csbId: 0xffffffff,
        csIdMap: { type: 'SRTP-ID', entries: [{ policyNo: 1, ssrc: 0xdeadbeef, roc: 7 }] },
      },
      payloads: [
        { kind: 'T', tsType: TsType.COUNTER, value: 0xfffffffen },
        { kind: 'RAND', rand: randomBytes(16) },
        { kind: 'ID', idType: IdType.NAI, id: new TextEncoder().encode('alice@example.org') },
        { kind: 'ID', idType: IdType.URI, id: new TextEncoder().encode('sip:bob@example.org') },
        {
          kind: 'SP',
          policyNo: 1,
          protType: 0,
          params: [
            { type: 0, value: Uint8Array.of(1) },
            { type: 1, value: Uint8Array.of(16) },
          ],
        },
        { kind: 'GENERAL_EXT', extType: 7, data: randomBytes(9) },
        {
          kind: 'KEMAC',
          encrAlg: EncrAlg.NULL,
          encrData: encodeKeyData([key]),
          macAlg: MacAlg.HMAC_SHA_256_256,
          mac: randomBytes(32),
        },
        { kind: 'V', authAlg: MacAlg.HMAC_SHA_1_160, verData: randomBytes(20) },
      ],
    },
    {
      header: {
        dataType: DataType.ERROR,
        v: false,
        prfFunc: 0,
        csbId: 0,
        csIdMap: {
          type: 'GENERIC-ID',
          entries: [
            {
              csId: 1,
              protType: 0,
              s: true,
              policyNos: [1, 2],
              sessionData: randomBytes(5),
              spi: randomBytes(4),
            },
            {
              csId: 2,
              protType: 0,
              s: false,
              policyNos: [],
              sessionData: new Uint8Array(0),
              spi: new Uint8Array(0),
            },
          ],
        },
      },
      payloads: [
        { kind: 'ERR', errNo: 0 },
        { kind: 'ERR', errNo: 12 },
        { kind: 'IDR', role: IdRole.IDRpsk, idType: IdType.BYTE_STRING, id: Uint8Array.of(0x10, 0, 0, 1) },
        {
          kind: 'IDR',
          role: IdRole.IDRkmsr,
          idType: IdType.URI,
          id: new TextEncoder().encode('kms.example'),
        },
        { kind: 'SIGN', sType: SignType.RSA_PSS, signature: randomBytes(4095) },
      ],
    },
    { header: { ...SMALL.header, csIdMap: { type: 'EMPTY', csCount: 3 } }, payloads: [] },
  ];
}
