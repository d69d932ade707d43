// The pure estimators (paper §3): no I/O, time and randomness come in as parameters.
export * from './bandwidth.ts';
export * from './group-size.ts';
export * from './swarm-size.ts';
export * from './peer-count-sketch.ts';
export * from './backoff.ts';
export * from './random.ts';
