export declare function detInput(size: number, seed: number): Float32Array;
export declare function textPixels(map: Float32Array): number;
export declare function lineImage(seed: number): Float32Array;
