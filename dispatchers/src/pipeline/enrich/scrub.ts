// The scrub rules live in @telltale/protocol so that @telltale/node applies the very same ones on the
// app's machine, before a line leaves it; the dispatchers keep importing them from here.
export {
  scrubText,
  scrubStack,
  scrubUrl,
  scrubId,
  scrubAttributes,
  scrubJsonValue,
} from '@telltale/protocol';
