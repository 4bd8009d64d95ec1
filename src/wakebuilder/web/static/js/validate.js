// Wake-word rules, mirroring wakebuilder/wakeword.py (the server has the final word):
// letters of any script (plus combining marks), spaces, apostrophes and hyphens; 1-4 words;
// 2-40 characters after trimming, collapsing spaces and lower-casing.

export const MIN_CHARS = 2;
export const MAX_CHARS = 40;
export const MAX_WORDS = 4;

const ALLOWED = /^[\p{L}\p{M} '\-\u2019]$/u;
const LETTER = /\p{L}/u;

export function normalizeWakeWord(raw) {
  return (raw || "").normalize("NFC").split(/\s+/u).filter(Boolean).join(" ")
    .toLowerCase().replace(/\u2019/g, "'");
}

/** {ok, text, message}: message explains the first broken rule. */
export function validateWakeWord(raw) {
  const text = normalizeWakeWord(raw);
  if (!text) return { ok: false, text, message: "Enter a wake word." };
  const chars = [...text];
  const bad = [...new Set(chars.filter((c) => !ALLOWED.test(c)))];
  if (bad.length) {
    return { ok: false, text, message: `Only letters, spaces, apostrophes and hyphens are allowed (not ${bad.map((c) => `“${c}”`).join(" ")}).` };
  }
  if (!chars.some((c) => LETTER.test(c))) return { ok: false, text, message: "The wake word must contain letters." };
  if (chars.length < MIN_CHARS || chars.length > MAX_CHARS) {
    return { ok: false, text, message: `Use ${MIN_CHARS} to ${MAX_CHARS} characters (now ${chars.length}).` };
  }
  const words = text.split(" ").length;
  if (words > MAX_WORDS) return { ok: false, text, message: `Use 1 to ${MAX_WORDS} words (now ${words}).` };
  return { ok: true, text, message: "" };
}
