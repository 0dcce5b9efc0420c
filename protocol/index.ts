// dicap's wire protocol, pure TypeScript (SPEC.md is the authority for every byte).
export * from './avp.js';
export * from './control-errors.js';
export * from './control-message.js';
export * from './control-views.js';
export * from './replay-guard.js';
export * from './epoch-term-space.js';
export * from './sender-identity.js';
export * from './sender-seq.js';
export * from './inband-frame.js';
export * from './header-batch.js';
export * from './selection.js';
export * from './ipv4-address.js';
export * from './describe.js';
