import serverPackage from '../package.json' with { type: 'json' };

/** The platform's version, as its package names it: the API document and the SBOMs it makes (as their tool) say it. */
export const FLOWGATE_VERSION: string = serverPackage.version;
