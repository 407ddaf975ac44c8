// A tiny stdio JSON-RPC server for the tests: serveStdio on this process's stdin/stdout,
// announcing gateway.ready like the real gateway, exiting on stdin EOF.
import { createDispatcher, serveStdio, PROTOCOL_VERSION } from '../../dist/index.js';

let connection;
const dispatcher = createDispatcher(
  {
    echo: { params: { text: { type: 'string' } }, handler: (params) => ({ text: params.text }) },
    emit: {
      params: { count: { type: 'integer', min: 1, max: 1000 } },
      handler: (params) => {
        for (let seq = 1; seq <= params.count; seq += 1) {
          connection.notify({ type: 'tick', session_id: 's1', seq, payload: { seq } });
        }
        return { emitted: params.count };
      },
    },
    pid: { handler: () => ({ pid: process.pid }) },
  },
  { maxMessageBytes: 4096 },
);

connection = serveStdio(process.stdin, process.stdout, dispatcher);
connection.notify({
  type: 'gateway.ready',
  payload: { version: '0.0.0-test', instance_id: 'fixture', protocol: PROTOCOL_VERSION },
});
await connection.done;
process.stderr.write('fixture: stdin ended\n');
process.exit(0);
