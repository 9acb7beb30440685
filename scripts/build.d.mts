/** Where `buildHookpost` writes the bundle. */
export declare const BUNDLE: string;
/** Bundles src/cli.ts into dist/hookpost.mjs; resolves with its path. */
export declare function buildHookpost(): Promise<string>;
