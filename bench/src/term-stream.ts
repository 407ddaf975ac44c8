/**
 * The one shape every system's terminal takes for the workloads: write keys, receive output.
 * Output arrives as Buffers (Tether, node-pty) or strings (Jupyter, tmux); the workloads only
 * look for ASCII markers, so both are handled without decoding.
 */
export type Chunk = Buffer | string;

export interface TermStream {
  readonly system: string;
  write(data: string): void;
  /** Replaced by each workload step; receives every output chunk in order. */
  sink: (chunk: Chunk) => void;
  close(): Promise<void>;
}

function chunkLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? chunk.length : chunk.length;
}

function chunkHas(chunk: Chunk, text: string): boolean {
  return chunk.indexOf(text) !== -1;
}

function chunkEdge(chunk: Chunk, fromEnd: boolean, size: number): string {
  const part = fromEnd ? chunk.slice(-size) : chunk.slice(0, size);
  return typeof part === 'string' ? part : part.toString('latin1');
}

/**
 * Resolves when `marker` has appeared in the output, with the bytes seen (strings count
 * UTF-16 units, which equal bytes for the ASCII payloads used here) and the elapsed ms.
 */
export function waitForMarker(
  stream: TermStream,
  marker: string,
  timeoutMs: number,
  startedAtMs = performance.now(),
): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let tail = '';
    const timer = setTimeout(() => {
      stream.sink = () => undefined;
      reject(
        new Error(`${stream.system}: no "${marker}" within ${timeoutMs} ms (${bytes} bytes seen)`),
      );
    }, timeoutMs);
    stream.sink = (chunk) => {
      bytes += chunkLength(chunk);
      // A marker can straddle two chunks: check the seam as well as the chunk.
      const seam = tail + chunkEdge(chunk, false, marker.length);
      if (seam.includes(marker) || chunkHas(chunk, marker)) {
        clearTimeout(timer);
        stream.sink = () => undefined;
        resolve({ bytes, ms: performance.now() - startedAtMs });
        return;
      }
      tail = chunkEdge(chunk, true, marker.length);
    };
  });
}

/**
 * A marker the shell prints but the typed command line does not contain, so the terminal's
 * echo of the command cannot satisfy the wait: `printf 'A%sB\n' _` prints `A_B`.
 */
export function markerCommand(label: string): { command: string; marker: string } {
  return { command: `printf '${label}%s${label}\\n' _`, marker: `${label}_${label}` };
}

/** Puts the terminal in raw mode with `cat` echoing, and waits until it is ready. */
export async function enterRawCat(stream: TermStream, timeoutMs = 10_000): Promise<void> {
  const ready = markerCommand('RAWREADY');
  const waiting = waitForMarker(stream, ready.marker, timeoutMs);
  stream.write(`stty raw -echo; ${ready.command}; exec cat\r`);
  await waiting;
  // The shell's last prompt bytes can trail the marker; let them pass before timing keys.
  await new Promise((resolve) => setTimeout(resolve, 200));
}
