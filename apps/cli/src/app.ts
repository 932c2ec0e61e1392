export { startStack, formatLogLine, ENTRIES } from './stack.ts';
export { readRunState, runStatePath, stackTarget, type RunState, type StackTarget } from './run-state.ts';
export type { Stack, StackOptions, StackProcess } from './stack.ts';
