export declare function lineImage(seed: number): Float32Array;
export declare function detInput(size: number, seed: number): Float32Array;
