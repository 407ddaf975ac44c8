/**
 * Serves JSON-RPC as newline-delimited JSON on a pair of streams (the gateway's --stdio
 * mode): the same dispatcher as the WebSocket transport, one message per line.
 */
import { randomUUID } from 'node:crypto';
import { TetherError, type Logger } from '@tether/core';
import { CloseSignal, type RpcConnection } from './connection.js';
import { NO_LOGGER, serializeEvent, serializeResponse, type Dispatcher } from './dispatcher.js';
import { LineSplitter } from './lines.js';
import { errorResponse, type EventMessage, type RpcResponse } from './protocol.js';
import { WriteQueue } from './write-queue.js';

export interface StdioRpcOptions {
  logger?: Logger;
  /** Lines above this get a 4029 reply and are skipped without being buffered whole. */
  maxMessageBytes?: number;
  /** Stop reading input while this many bytes of output wait for the reader. */
  pauseInputAboveBytes?: number;
}

export type StdioRpcConnection = RpcConnection & {
  /** Resolves when the input ended (EOF, error) or the connection was closed. */
  readonly done: Promise<void>;
};

const DEFAULT_PAUSE_INPUT_ABOVE_BYTES = 4 * 1024 * 1024;

/**
 * Starts reading `input` and answering on `output`. The streams stay owned by the caller:
 * `close()` stops reading but neither ends `output` nor destroys `input`.
 */
export function serveStdio(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  dispatcher: Dispatcher,
  options: StdioRpcOptions = {},
): StdioRpcConnection {
  const id = `stdio-${randomUUID()}`;
  const logger = (options.logger ?? NO_LOGGER).child({ connectionId: id, transport: 'stdio' });
  const maxMessageBytes = options.maxMessageBytes ?? dispatcher.maxMessageBytes;
  const pauseInputAboveBytes = options.pauseInputAboveBytes ?? DEFAULT_PAUSE_INPUT_ABOVE_BYTES;
  const closeSignal = new CloseSignal();
  let isInputPausedByUs = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const writer = new WriteQueue(
    output,
    (error) => {
      logger.warn({ sessionId: null, err: error, reason: 'output_error' }, 'stdio output failed');
      finish({ code: 1006, reason: 'output error' });
    },
    () => {
      if (!isInputPausedByUs) return;
      isInputPausedByUs = false;
      input.resume();
    },
  );

  // LIMITATION: events pushed with notify() while the reader stalls queue without bound
  // (pausing input only stops new requests). Fix: a maxBufferedBytes that ends the connection.
  function writeLine(text: string): void {
    // Lines are the framing: a raw newline can only appear escaped inside JSON strings.
    writer.write(`${text}\n`);
    if (writer.pendingBytes > pauseInputAboveBytes && !isInputPausedByUs) {
      isInputPausedByUs = true;
      input.pause();
    }
  }

  function sendResponse(response: RpcResponse | null): void {
    if (!response || closeSignal.isClosed) return;
    writeLine(serializeResponse(response, logger));
  }

  const splitter = new LineSplitter(maxMessageBytes, {
    onLine(line) {
      dispatcher.handle(line, connection).then(sendResponse, (error: unknown) => {
        // handle() turns every failure into a response; reaching here is a bug in this package.
        logger.error({ sessionId: null, err: error }, 'dispatcher rejected');
      });
    },
    onOverlong(bytesSeen) {
      const error = new TetherError(
        'TETHER_LIMIT_REACHED',
        `limit reached: message is over ${maxMessageBytes} bytes (${bytesSeen} seen)`,
        { limit: 'message_bytes', max_bytes: maxMessageBytes },
      );
      sendResponse(
        errorResponse(null, { code: error.rpcCode, message: error.message, data: error.data }),
      );
    },
  });

  function onData(chunk: Buffer | string): void {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  }

  function onEnd(): void {
    splitter.end();
    finish({ code: 1000, reason: 'eof' });
  }

  function onInputError(error: Error): void {
    logger.warn({ sessionId: null, err: error, reason: 'input_error' }, 'stdio input failed');
    finish({ code: 1006, reason: 'input error' });
  }

  function finish(info: { code: number; reason: string }): void {
    if (closeSignal.isClosed) return;
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onInputError);
    logger.debug({ sessionId: null, ...info }, 'connection closed');
    closeSignal.fire(info);
    resolveDone();
  }

  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onInputError);

  const connection: StdioRpcConnection = {
    id,
    transport: 'stdio',
    done,
    get isOpen() {
      return !closeSignal.isClosed;
    },
    notify(event: EventMessage): void {
      if (closeSignal.isClosed) return;
      const text = serializeEvent(event, logger);
      if (text !== null) writeLine(text);
    },
    close(code = 1000, reason = 'closed'): void {
      if (closeSignal.isClosed) return;
      input.pause();
      finish({ code, reason });
    },
    onClose: (listener) => closeSignal.subscribe(listener),
  };

  return connection;
}
