export * from './agent-states.ts';
export * from './paths.ts';
export * from './schemas.ts';
