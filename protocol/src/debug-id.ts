/**
 * Frames of Sentry events that name a debug ID carry it before the script URL, as
 * `debugid-<32 hex>+https://…` (collector/src/sentry/event.ts writes it, the symbolicator reads it):
 * protocol v1 has no field for it. People should never see the marker.
 */
const MARKER = /debugid-[0-9a-f]{32}\+/g;

/** The text with every debug-ID marker removed (frames, stacks). Linear: a fixed-length pattern. */
export function stripDebugIdMarkers(text: string): string {
  return text.includes('debugid-') ? text.replace(MARKER, '') : text;
}
