// The emailed one-time code: 8 characters shown as ABCD-EFGH. People type
// or paste it in any case, with or without the hyphen or spaces.
export const CODE_LENGTH = 8;

/** Upper-cases, drops everything but letters and digits, caps at 8 and puts
 * the hyphen after the fourth character. */
export function normalizeCode(raw: string): string {
  const chars = raw
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .slice(0, CODE_LENGTH);
  return chars.length > 4 ? `${chars.slice(0, 4)}-${chars.slice(4)}` : chars;
}

export function isCompleteCode(code: string): boolean {
  return normalizeCode(code).replace("-", "").length === CODE_LENGTH;
}
