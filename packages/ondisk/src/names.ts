/** 48-byte NUL-padded names, compared like strncmp(a, b, 48). */

/** Throws OnDiskError NAME_TOO_LONG (> 48 bytes) or NAME_INVALID (empty, NUL, char > U+00FF). `what` names the field in messages. */
export function validateName(name: string, what: string): void {
  throw new Error('stub');
}
/** Writes the name into target[offset, offset+48), NUL padded. Validates first. */
export function encodeName(name: string, target: Uint8Array, offset: number, what: string): void {
  throw new Error('stub');
}
/** The bytes before the first NUL of the 48-byte field at offset, as latin1. */
export function decodeName(source: Uint8Array, offset: number): string {
  throw new Error('stub');
}
/** strncmp-with-48 equality: bytes after the first NUL and beyond 48 do not count. */
export function namesEqual(a: string, b: string): boolean {
  throw new Error('stub');
}
