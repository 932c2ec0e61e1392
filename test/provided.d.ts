// Values the test global setup hands to every test through `inject()`.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the throwaway Redis 8 started for this test run. */
    redisUrl: string;
    /** Folder of the provisioned word-vector model (the file may be missing if provisioning failed). */
    embeddingsModelDir: string;
  }
}
