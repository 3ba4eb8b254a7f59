export { assert, unreachable, AssertionError } from './assert.ts';
export { VotervaultError, InputError } from './errors.ts';
export type { InputPosition } from './errors.ts';
export type { Brand } from './brand.ts';
