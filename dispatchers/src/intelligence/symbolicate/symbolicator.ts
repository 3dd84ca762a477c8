import { LRUCache } from 'lru-cache';
import { SourceMapConsumer, type RawIndexMap, type RawSourceMap } from 'source-map';
import { isInAppFile, type StackFrame } from '../stack.js';
import {
  artifactPath,
  findArtifact,
  frameDebugId,
  openArtifactStore,
  type ArtifactMeta,
  type ArtifactStore,
} from './artifact-store.js';
import { enclosingFunction, functionScopes, lineStarts, type FunctionScope } from './function-names.js';
import {
  callChain,
  describeProblem,
  MAX_LISTED,
  type SourceMapProblem,
  type SourceMapProblemKind,
} from './problems.js';

export type { SourceMapProblem, SourceMapProblemKind } from './problems.js';

/** A frame after symbolication; `raw` keeps the frame exactly as the browser reported it. */
export interface SymbolicatedFrame extends StackFrame {
  /** True when a source map resolved this frame to original code. */
  symbolicated: boolean;
  /** The frame as reported (minified file, line and column); the same as the frame itself when not symbolicated. */
  raw: StackFrame;
  /** The original source line, trimmed, when the map carries the sources. */
  context?: string;
}

export interface SymbolicationResult {
  frames: SymbolicatedFrame[];
  /** One per distinct script that could not be resolved. */
  problems: SourceMapProblem[];
}

export interface SymbolicateInput {
  app: string;
  release: string;
  frames: readonly StackFrame[];
  /** Only artifacts uploaded at or before this time (epoch ms): grouping then gives the same answer on replay. */
  uploadedBefore?: number;
  /** Work out `problems` (default true); grouping only needs the frames. */
  explain?: boolean;
}

export interface Symbolicator {
  /** Never throws: a broken map becomes a problem, and the frame stays as reported. */
  symbolicate(input: SymbolicateInput): Promise<SymbolicationResult>;
  /** Whether any map of this release was uploaded (at or before `uploadedBefore`): the cheap question first. */
  hasMaps(app: string, release: string, uploadedBefore?: number): Promise<boolean>;
  stats(): { cachedMaps: number; cachedBytes: number; loads: number; evictions: number };
  /** Frees every parsed map (they hold WebAssembly memory). */
  close(): void;
}

export interface SymbolicatorOptions {
  /** `<data>/artifacts`. */
  artifactsRoot: string;
  /** Parsed maps kept in memory (least recently used go first); default 32. */
  cacheSize?: number;
  /** Upper bound of the map text behind the cached maps, bytes; default 256 MiB. */
  cacheBytes?: number;
}

interface LoadedMap {
  consumer: SourceMapConsumer;
  bytes: number;
  /** Lines of generated code the mappings cover (basic maps only). */
  generatedLines: number | undefined;
  scopes: Map<string, { scopes: FunctionScope[]; starts: number[]; text: string } | null>;
  /** Generated positions where a mapping starts (`line:column`), built on first use; undefined for huge maps. */
  segmentStarts?: Set<number> | null;
}

// Positions a browser reports land exactly on a mapping of the build they come from; a map from
// another build catches them between mappings. Checked for maps up to this size (the set costs memory).
const MAX_CHECKED_MAP_CHARS = 8 * 1024 * 1024;
const segmentKey = (line: number, column: number): number => line * 10_000_000 + column;

function segmentStarts(map: LoadedMap): Set<number> | null {
  if (map.segmentStarts === undefined) {
    if (map.bytes > MAX_CHECKED_MAP_CHARS) map.segmentStarts = null;
    else {
      const starts = new Set<number>();
      map.consumer.eachMapping((m) => starts.add(segmentKey(m.generatedLine, m.generatedColumn)));
      map.segmentStarts = starts;
    }
  }
  return map.segmentStarts;
}

const MAX_CONTEXT_CHARS = 200;

/** `webpack://app/./src/a.ts`, `../../src/a.ts`, `/abs/src/a.ts` → `src/a.ts`: what a developer recognises. */
export function cleanSourcePath(source: string): string {
  return source
    .replace(/^webpack:\/\/[^/]*\//, '')
    .replace(/^[a-z][a-z0-9+.-]*:\/\/\/?/i, '')
    .replace(/^(?:\.{1,2}\/)+/, '')
    .replace(/\/\.\//g, '/')
    .replace(/^\/+/, '');
}

function unsymbolicated(frame: StackFrame): SymbolicatedFrame {
  return { ...frame, symbolicated: false, raw: frame };
}

function generatedLineCount(raw: RawSourceMap | RawIndexMap): number | undefined {
  return 'mappings' in raw && typeof raw.mappings === 'string' ? raw.mappings.split(';').length : undefined;
}

export function createSymbolicator(options: SymbolicatorOptions): Symbolicator {
  const store: ArtifactStore = openArtifactStore(options.artifactsRoot);
  const cacheSize = Math.max(1, options.cacheSize ?? 32);
  const cacheBytes = options.cacheBytes ?? 256 * 1024 * 1024;
  const counters = { loads: 0, evictions: 0 };
  const failed = new WeakSet<Promise<LoadedMap>>();
  // A map's size is known once it is read: 1 until then, its text's length after (load sets it again),
  // at most the whole budget, so a map larger than that is kept alone rather than refused.
  const cache = new LRUCache<string, Promise<LoadedMap>>({
    max: cacheSize,
    maxSize: cacheBytes,
    dispose: (entry) => {
      if (failed.has(entry)) return;
      counters.evictions += 1;
      // Destroy once any in-flight user is done with it: users await the promise, then run synchronously.
      void entry.then((loaded) => setImmediate(() => loaded.consumer.destroy())).catch(() => undefined);
    },
  });

  function load(app: string, release: string, meta: ArtifactMeta): Promise<LoadedMap> {
    const key = `${app}\u0000${release}\u0000${meta.id}\u0000${meta.uploadedAt}`;
    // get: a hit becomes the most recently used.
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    counters.loads += 1;
    const loading = (async (): Promise<LoadedMap> => {
      const text = await store.readMap(app, release, meta);
      const raw = JSON.parse(text) as RawSourceMap | RawIndexMap;
      const consumer = await new SourceMapConsumer(raw);
      return { consumer, bytes: text.length, generatedLines: generatedLineCount(raw), scopes: new Map() };
    })();
    cache.set(key, loading, { size: 1 });
    loading.then(
      (loaded) => {
        if (cache.peek(key) === loading)
          cache.set(key, loading, { size: Math.min(cacheBytes, Math.max(1, loaded.bytes)) });
      },
      () => {
        failed.add(loading);
        if (cache.peek(key) === loading) cache.delete(key);
      },
    );
    return loading;
  }

  function scopesOf(map: LoadedMap, source: string) {
    if (!map.scopes.has(source)) {
      const text = map.consumer.sourceContentFor(source, true);
      map.scopes.set(
        source,
        text === null ? null : { text, scopes: functionScopes(text), starts: lineStarts(text) },
      );
    }
    return map.scopes.get(source) ?? null;
  }

  /** Resolves one frame; `callerName` is the name the map gives the call site one frame further out. */
  function resolve(
    map: LoadedMap,
    frame: StackFrame,
  ): { frame: SymbolicatedFrame; callSiteName: string | undefined; at: number } | { failure: string } {
    const line = frame.line ?? 0;
    // Stack columns are 1-based; Hermes bytecode offsets and the map's columns are 0-based.
    const column = frame.column === undefined ? 0 : frame.bytecode ? frame.column : frame.column - 1;
    if (map.generatedLines !== undefined && line > map.generatedLines)
      return { failure: `line ${line} (the map covers ${map.generatedLines} lines)` };
    const position = map.consumer.originalPositionFor({ line, column: Math.max(0, column) });
    if (position.source === null || position.line === null)
      return { failure: `line ${line}, column ${frame.column ?? '?'}` };
    const file = cleanSourcePath(position.source);
    const source = scopesOf(map, position.source);
    let fn: string | undefined;
    let context: string | undefined;
    if (source !== null) {
      const start = source.starts[position.line - 1];
      if (start !== undefined) {
        fn = enclosingFunction(source.scopes, start + (position.column ?? 0));
        const end = source.starts[position.line] ?? source.text.length;
        context = source.text.slice(start, end).trim().slice(0, MAX_CONTEXT_CHARS);
      }
    }
    const result: SymbolicatedFrame = {
      function: fn,
      file,
      line: position.line,
      column: (position.column ?? 0) + 1,
      inApp: isInAppFile(`/${file}`) && isInAppFile(frame.file),
      symbolicated: true,
      raw: frame,
    };
    if (context !== undefined && context !== '') result.context = context;
    return {
      frame: result,
      callSiteName: position.name ?? undefined,
      at: segmentKey(line, Math.max(0, column)),
    };
  }

  return {
    async hasMaps(app, release, uploadedBefore) {
      const metas = await store.list(app, release).catch(() => []);
      return metas.some((m) => uploadedBefore === undefined || m.uploadedAt <= uploadedBefore);
    },
    async symbolicate(input) {
      const frames: SymbolicatedFrame[] = input.frames.map(unsymbolicated);
      const problems = new Map<string, SourceMapProblem>();
      const callSiteNames: Array<string | undefined> = [];
      // Per script: its map and the generated positions of its resolved frames; which artifact each frame used.
      const landing = new Map<string, { file: string; map: LoadedMap; positions: number[] }>();
      const artifactOf: Array<string | undefined> = [];
      let metas: ArtifactMeta[] | undefined;
      let releases: string[] | undefined;

      const problem = async (kind: SourceMapProblemKind, file: string, detail?: string): Promise<void> => {
        if (input.explain === false) return;
        const lookedFor = artifactPath(file);
        if (problems.has(lookedFor)) return;
        const uploaded = (metas ?? []).slice(0, MAX_LISTED).map((m) => m.path);
        const withMaps =
          kind === 'no-maps-for-release'
            ? (releases ??= await store.releases(input.app).catch(() => [])).slice(0, 10)
            : [];
        problems.set(lookedFor, {
          kind,
          release: input.release,
          file,
          lookedFor,
          uploaded,
          releasesWithMaps: withMaps,
          message: describeProblem(kind, input.release, lookedFor, uploaded, withMaps, detail),
        });
      };

      try {
        for (let i = 0; i < input.frames.length; i += 1) {
          const frame = input.frames[i];
          // Native frames and frames without a position have nothing to look up.
          if (frame?.file === undefined || frame.line === undefined || !/[/.]/.test(frame.file)) continue;
          // A debug ID names the build's own map, whatever release or URL it was uploaded under.
          const debugId = frameDebugId(frame.file);
          const byId = debugId === undefined ? undefined : await store.byDebugId(input.app, debugId);
          const usable =
            byId !== undefined &&
            (input.uploadedBefore === undefined || byId.meta.uploadedAt <= input.uploadedBefore)
              ? byId
              : undefined;
          metas ??= (await store.list(input.app, input.release)).filter(
            (m) => input.uploadedBefore === undefined || m.uploadedAt <= input.uploadedBefore,
          );
          const meta = usable?.meta ?? findArtifact(metas, frame.file);
          const release = usable?.release ?? input.release;
          if (meta === undefined) {
            // Library scripts served by someone else rarely come with maps; only the app's own files count.
            if (frame.inApp)
              await problem(metas.length === 0 ? 'no-maps-for-release' : 'missing-map', frame.file);
            continue;
          }
          let map: LoadedMap;
          try {
            map = await load(input.app, release, meta);
          } catch (error) {
            await problem(
              'unreadable-map',
              frame.file,
              error instanceof Error ? error.message : String(error),
            );
            continue;
          }
          const resolved = resolve(map, frame);
          if ('failure' in resolved) {
            await problem('no-mapping', frame.file, resolved.failure);
            continue;
          }
          frames[i] = resolved.frame;
          callSiteNames[i] = resolved.callSiteName;
          artifactOf[i] = meta.id;
          if (!frame.bytecode) {
            const seen = landing.get(meta.id) ?? { file: frame.file, map, positions: [] };
            seen.positions.push(resolved.at);
            landing.set(meta.id, seen);
          }
        }
        // Does each map belong to the build that ran? Grouping does not ask (explain: false): it costs a pass over the map.
        for (const [id, seen] of input.explain === false ? [] : landing) {
          const chain = callChain(frames, artifactOf, id);
          if (chain.checked > 0) {
            if (chain.broken * 2 > chain.checked)
              await problem(
                'mismatch',
                seen.file,
                `${chain.broken} of ${chain.checked} call sites it gives do not call the function one frame in`,
              );
            continue;
          }
          // One frame, or no names to compare: positions from the right build land exactly on a mapping.
          const starts = segmentStarts(seen.map);
          if (starts === null) continue;
          const missed = seen.positions.filter((at) => !starts.has(at)).length;
          if (missed * 2 > seen.positions.length)
            await problem(
              'mismatch',
              seen.file,
              `${missed} of ${seen.positions.length} positions fall between its mappings`,
            );
        }
      } catch {
        // An unreadable artifact store must not stop the pipeline: what was resolved so far stands.
      }

      // The call site one frame out names the function this frame runs in when the code scan could not.
      for (let i = 0; i < frames.length; i += 1) {
        const frame = frames[i];
        if (frame === undefined || !frame.symbolicated || frame.function !== undefined) continue;
        const fromCaller = callSiteNames[i + 1];
        const minified = frame.raw.function;
        // Property names survive minification: `t.dispatch` still says `dispatch`.
        const property = minified?.slice(minified.lastIndexOf('.') + 1);
        frame.function =
          fromCaller ??
          (minified?.includes('.') && property !== undefined && /^[A-Za-z_$][\w$]*$/.test(property)
            ? property
            : undefined);
      }
      return { frames, problems: [...problems.values()] };
    },
    stats() {
      return { cachedMaps: cache.size, cachedBytes: cache.calculatedSize, ...counters };
    },
    close() {
      cache.clear();
    },
  };
}
