/**
 * A team's palette lists: which node modules its Node-RED instances may hold (SR 2.4,
 * SR 7.7). Node-RED applies them to installs from its palette editor; the agent applies
 * the same rule to the modules of a snapshot before it installs them, and the platform
 * before it deploys one, so a snapshot from elsewhere cannot bring in what the editor may not.
 */

export type PaletteLists = { allow: string[]; deny: string[] };

type Rule = { pattern: RegExp; wildcardAt: number; length: number };

function rule(entry: string): Rule {
  const escaped = entry.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*');
  const wildcardAt = entry.indexOf('*');
  return { pattern: new RegExp(`^${escaped}$`), wildcardAt: wildcardAt === -1 ? Infinity : wildcardAt, length: entry.length };
}

function firstMatch(name: string, list: string[]): Rule | null {
  for (const entry of list) {
    const candidate = rule(entry);
    if (candidate.pattern.test(name)) return candidate;
  }
  return null;
}

/**
 * The lists as Node-RED's `externalModules` settings take them. Flowgate's meaning: an
 * empty allow list allows every module; a non-empty one allows only what it names; the
 * deny list takes out of that. Node-RED lets in a module that no rule matches, so a
 * non-empty allow list comes with a deny-all rule that its more specific rules beat.
 */
export function nodeRedPaletteLists(lists: PaletteLists): { allowList: string[]; denyList: string[] } {
  if (lists.allow.length === 0) return { allowList: ['*'], denyList: [...lists.deny] };
  return { allowList: [...lists.allow], denyList: [...lists.deny, '*'] };
}

/**
 * Node-RED's own decision on those settings (@node-red/registry checkModuleAllowed), so
 * the editor's palette and the platform never disagree: matched by an allow rule and no
 * deny rule, in; by a deny rule only, out; by neither, in; by both, the more specific rule
 * wins (the later first wildcard, then the longer rule).
 */
export function moduleAllowed(name: string, lists: PaletteLists): boolean {
  const { allowList, denyList } = nodeRedPaletteLists(lists);
  const allowed = firstMatch(name, allowList);
  const denied = firstMatch(name, denyList);
  if (!denied) return true;
  if (!allowed) return false;
  if (allowed.wildcardAt !== denied.wildcardAt) return allowed.wildcardAt > denied.wildcardAt;
  return allowed.length > denied.length;
}

/** The modules of `modules` the lists keep out, by name. */
export function refusedModules(modules: ReadonlyArray<{ name: string }>, lists: PaletteLists): string[] {
  return modules.filter((module) => !moduleAllowed(module.name, lists)).map((module) => module.name);
}
