import type { Breadcrumb } from '@telltale/protocol';
import { scrub } from './scrub.js';

/** Breadcrumbs kept; older ones fall off the ring. */
export const MAX_BREADCRUMBS = 20;

/** The last 20 breadcrumbs, oldest first; attached to errors and failed asserts. */
export function createBreadcrumbs() {
  const ring: Breadcrumb[] = [];
  return {
    add(message: string, level: Breadcrumb['level']): void {
      if (ring.push({ ts: Date.now(), level, message: scrub(message) }) > MAX_BREADCRUMBS) ring.shift();
    },
    /** A copy, so later breadcrumbs do not change an event already queued. */
    list: (): Breadcrumb[] | undefined => (ring.length ? ring.slice() : undefined),
  };
}
