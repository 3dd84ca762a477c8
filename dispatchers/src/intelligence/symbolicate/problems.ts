import type { SymbolicatedFrame } from './symbolicator.js';

/** What goes wrong between a frame and its original source, said plainly for the error page. */
export type SourceMapProblemKind =
  'no-maps-for-release' | 'missing-map' | 'no-mapping' | 'mismatch' | 'unreadable-map';

/** Why a frame could not be symbolicated: the failure users hit most, said plainly on the error page. */
export interface SourceMapProblem {
  kind: SourceMapProblemKind;
  release: string;
  /** The script as the frame reported it. */
  file: string;
  /** The path the lookup used (`/assets/app.3f9a2c1b.js`). */
  lookedFor: string;
  /** Paths uploaded for this release (first 20). */
  uploaded: string[];
  /** Other releases of the app that do have maps (first 10), when this one has none. */
  releasesWithMaps: string[];
  message: string;
}

/** Uploads listed in a problem (the first ones). */
export const MAX_LISTED = 20;

const lastSegment = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

/**
 * A map from the right build puts each caller frame on a line that calls the function one frame in
 * (`return renderCart(cart)` above `renderCart`); a map from another build lands on unrelated code.
 * Counts, for consecutive frames resolved through one artifact, the call sites checked and broken.
 */
export function callChain(
  frames: readonly SymbolicatedFrame[],
  artifactOf: ReadonlyArray<string | undefined>,
  id: string,
): { checked: number; broken: number } {
  let checked = 0;
  let broken = 0;
  for (let i = 1; i < frames.length; i += 1) {
    const callee = frames[i - 1];
    const caller = frames[i];
    if (artifactOf[i] !== id || artifactOf[i - 1] !== id || callee?.function === undefined) continue;
    if (caller?.context === undefined) continue;
    checked += 1;
    if (!caller.context.includes(lastSegment(callee.function))) broken += 1;
  }
  return { checked, broken };
}

export function describeProblem(
  kind: SourceMapProblemKind,
  release: string,
  lookedFor: string,
  uploaded: string[],
  releasesWithMaps: string[],
  detail = '',
): string {
  switch (kind) {
    case 'no-maps-for-release':
      return (
        `No source maps were uploaded for release ${release} (looked for ${lookedFor}). ` +
        (releasesWithMaps.length > 0
          ? `Releases with maps: ${releasesWithMaps.join(', ')}. Is the SDK's release the one you uploaded?`
          : 'Upload them with: telltale sourcemaps upload ./dist --release ' +
            release +
            ' --url-prefix <URL of the files>')
      );
    case 'missing-map':
      return (
        `No source map for ${lookedFor} in release ${release}. Uploaded for this release: ` +
        `${uploaded.join(', ')}${uploaded.length >= MAX_LISTED ? ', …' : ''}. ` +
        'The file names differ: upload the maps of the build that is deployed, with the --url-prefix it is served from.'
      );
    case 'mismatch':
      return (
        `The map uploaded for ${lookedFor} (release ${release}) probably belongs to another build of the file: ${detail}. ` +
        'The frames below may point at the wrong lines. Upload the maps from the same build that was deployed.'
      );
    case 'no-mapping':
      return (
        `The map uploaded for ${lookedFor} (release ${release}) has no mapping at ${detail}: ` +
        'it does not belong to this build of the file. Upload the maps from the same build that was deployed.'
      );
    case 'unreadable-map':
      return `The map uploaded for ${lookedFor} (release ${release}) could not be read: ${detail}`;
  }
}
