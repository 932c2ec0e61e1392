/**
 * One hop of the bare BullMQ pipeline ({@link ./bare-pipeline.ts}), as its own process:
 *
 *   tsx load-tests/src/bare-worker.ts <hop 1|2> <redis url> <prefix> <concurrency>
 *
 * Hop 1 consumes `route` and adds the job to `tier` (a no-op classifier); hop 2 consumes
 * `tier` and publishes the job id on `<prefix>:done` (a no-op executor).
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BARE_JOB_OPTIONS, bareNames } from './bare-pipeline.ts';

const [hopArg, redisUrl, prefix, concurrencyArg] = process.argv.slice(2);
const hop = Number(hopArg);
const concurrency = Number(concurrencyArg);
if ((hop !== 1 && hop !== 2) || !redisUrl || !prefix || !(concurrency >= 1)) {
  process.stderr.write('usage: bare-worker.ts <1|2> <redis url> <prefix> <concurrency>\n');
  process.exit(2);
}
const names = bareNames(prefix);
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const commands = new Redis(redisUrl, { maxRetriesPerRequest: null });
const next = hop === 1 ? new Queue(names.second, { connection: commands, prefix: names.bullPrefix }) : undefined;
const worker = new Worker(
  hop === 1 ? names.first : names.second,
  async (job) => {
    if (next) await next.add('job', job.data, { ...BARE_JOB_OPTIONS, jobId: job.id });
    else await commands.publish(names.doneChannel, String(job.id));
  },
  { connection, prefix: names.bullPrefix, concurrency },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');
const stop = async () => {
  await worker.close();
  await next?.close();
  connection.disconnect();
  commands.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
