/** Where `buildHookpost` writes the server bundle. */
export declare const BUNDLE: string;
/** Builds every part of dist/ (src/cli.ts into dist/hookpost.mjs and dist/chunks/, …); resolves with the server bundle and the main files written. */
export declare function buildHookpost(): Promise<{ bundle: string; written: string[] }>;
/** The server bundle, built first unless it was built from the sources as they are now. */
export declare function freshBundle(): Promise<string>;
