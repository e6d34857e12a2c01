// Typed errors raised by crypto-core on invalid input. Callers can tell bad input from bugs.

/** Invalid input to a crypto-core function: wrong key length, out-of-range parameter, truncated data. */
export class CryptoInputError extends Error {
  override readonly name = 'CryptoInputError';
  /** Short machine-readable cause, e.g. 'key_length', 'bearer_range', 'length_beyond_buffer'. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Throws CryptoInputError unless `bytes` has exactly `length` octets. */
export function requireLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array)) throw new CryptoInputError('type', `${what} must be a Uint8Array`);
  if (bytes.length !== length) {
    throw new CryptoInputError('length', `${what} must be ${length} octets, got ${bytes.length}`);
  }
}
