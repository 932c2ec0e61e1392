export { startStack, formatLogLine, ENTRIES, RUN_STATE } from './stack.ts';
export type { Stack, StackOptions, StackProcess } from './stack.ts';
