/**
 * A tiny ANSI SGR helper for terminal output, with no dependency.
 *
 * Invariants:
 * - A painter made with `enabled: false` returns its text unchanged: uncoloured output carries no
 *   escape code at all (callers decide `enabled` from the TTY and NO_COLOR; this module never looks).
 * - A painted string always ends with a reset, so styles never leak into the next span.
 */

const SGR = {
  bold: 1,
  dim: 2,
  red: 31,
  green: 32,
  yellow: 33,
  cyan: 36,
} as const;

export type Style = keyof typeof SGR;

/** Wraps `text` in the given style(s); the identity when colour is off. */
export type Paint = (style: Style | readonly Style[], text: string) => string;

const ESC = '\u001b[';

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    if (text === '') return text;
    const codes = (typeof style === 'string' ? [style] : style).map((s) => SGR[s]).join(';');
    return `${ESC}${codes}m${text}${ESC}0m`;
  };
}
