// The browser-safe part of core: what the web UI needs to show and hide actions from the
// same policy the server enforces. Nothing here may import a Node built-in.
export * from './permissions.ts';
export * from './roles.ts';
export * from './audit-events.ts';
export * from './password-policy.ts';
export * from './proxied-pages.ts';
