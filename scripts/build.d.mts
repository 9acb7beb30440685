/** Where `buildHookpost` writes the bundle. */
export declare const BUNDLE: string;
/** Bundles src/cli.ts into dist/hookpost.mjs (and dist/chunks/); resolves with the entry's path. */
export declare function buildHookpost(): Promise<string>;
/** The bundle, built first unless it was built from the sources as they are now. */
export declare function freshBundle(): Promise<string>;
