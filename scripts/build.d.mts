// Types of scripts/build.mjs for the TypeScript that imports it (test/global-setup.ts).
export declare const ROOT: string;
export declare const DIST: string;
export declare const ENTRY: string;
/** True when dist/ holds a bundle built from the sources as they are now. */
export declare function bundleIsFresh(): boolean;
/** Builds dist/. Throws when esbuild fails. */
export declare function build(options?: { clean?: boolean }): Promise<void>;
