import type { Ctx } from '../core/client.js';

/** `window.Telltale` of the script-tag build, as the add-on scripts see it. */
export const Telltale = (
  globalThis as unknown as { Telltale: { ctx(): Ctx | undefined; [k: string]: unknown } }
).Telltale;
