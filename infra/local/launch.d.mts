/** Types of launch.mjs, for the TypeScript that imports it (tests). */
import type { BuildOptions } from 'esbuild';

export declare const projectRoot: string;
export declare const RUNTIME_ENTRY: string;
export declare function runtimeInputs(): string[];
export declare function runtimeInputsHash(): string;
export declare function runtimeBuildOptions(outfile: string): BuildOptions;
export declare function preparedRuntime(): Promise<string>;
