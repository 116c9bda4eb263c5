/**
 * Newline framing with a size limit. Bytes are buffered until a newline; a line that grows past
 * `maxLineBytes` without one is reported once as oversize and the framer stops (the connection is
 * then closed: there is no safe way to find the next request boundary in a stream of garbage).
 */
export type FrameResult = { kind: 'line'; line: string } | { kind: 'oversize' };

export class LineFramer {
  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  private broken = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds received bytes; returns the complete lines (and at most one oversize marker, last). */
  push(data: Buffer): FrameResult[] {
    if (this.broken) return [];
    const results: FrameResult[] = [];
    let start = 0;
    for (;;) {
      const newline = data.indexOf(0x0a, start);
      if (newline === -1) break;
      const piece = data.subarray(start, newline);
      if (this.pendingBytes + piece.byteLength > this.maxLineBytes) return this.fail(results);
      const line = this.chunks.length === 0 ? piece : Buffer.concat([...this.chunks, piece]);
      this.chunks = [];
      this.pendingBytes = 0;
      results.push({ kind: 'line', line: line.toString('utf8') });
      start = newline + 1;
    }
    const rest = data.subarray(start);
    if (rest.byteLength > 0) {
      if (this.pendingBytes + rest.byteLength > this.maxLineBytes) return this.fail(results);
      // Copy: the caller's buffer may be reused by the stream.
      this.chunks.push(Buffer.from(rest));
      this.pendingBytes += rest.byteLength;
    }
    return results;
  }

  /** Bytes of an unfinished line (a client that disconnects mid-request leaves these). */
  get pendingByteCount(): number {
    return this.pendingBytes;
  }

  private fail(results: FrameResult[]): FrameResult[] {
    this.broken = true;
    this.chunks = [];
    this.pendingBytes = 0;
    results.push({ kind: 'oversize' });
    return results;
  }
}

/** One reply or request as a line. bigint values become decimal strings. */
export function encodeLine(message: unknown): string {
  return (
    JSON.stringify(message, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)) + '\n'
  );
}
