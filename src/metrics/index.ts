/** Prometheus metrics: one registry per instance, timing wrappers for the store and provider. */
export { instrumentOidc, instrumentStore } from './instrument.js';
export { createMetrics, labelWord, type Metrics, type RenewalResult, type SignInResult } from './registry.js';
