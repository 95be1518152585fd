export * from './permissions.ts';
export * from './roles.ts';
export * from './audit-chain.ts';
export * from './audit-events.ts';
export * from './password-policy.ts';
export * from './canonical-json.ts';
export * from './flow-diff.ts';
export * from './editor-token.ts';
