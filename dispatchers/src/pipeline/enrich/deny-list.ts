// The deny list lives in @telltale/protocol (protocol/src/scrub/deny-list.ts), shared with @telltale/node.
export { keyWords, isDeniedKey, isDeniedTextKey } from '@telltale/protocol';
