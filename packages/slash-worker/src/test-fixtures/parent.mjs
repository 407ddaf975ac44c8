// Fixture parent: spawns a worker from the built package, starts a long turn, prints the
// worker pid, then idles until it is killed. argv[2] is the WorkerOptions JSON, argv[3] an
// optional slash command to leave in flight.
import { spawnSlashWorker } from '../../dist/index.js';

const options = JSON.parse(process.argv[2]);
const worker = await spawnSlashWorker(options);
await worker.startTurn({ turnId: 'long', text: 'sleep 600', agent: 'shell' });
// An optional slash command left in flight, to test the watchdog's grace.
const command = process.argv[3];
if (command) {
  void worker.exec(command).catch(() => undefined);
  await worker.exec('/status');
}
process.stdout.write(`WORKER ${worker.pid}\n`);
setInterval(() => {}, 60_000);
