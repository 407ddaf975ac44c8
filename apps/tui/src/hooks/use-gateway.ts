/**
 * React access to the gateway controller: its state (re-rendering on every change) and the
 * terminal size, which decides how much output fits.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { useStdout } from 'ink';
import type { GatewayController } from '../gateway-controller.js';
import type { State } from '../state.js';

export function useGatewayState(controller: GatewayController): State {
  return useSyncExternalStore(controller.subscribe, controller.getState, controller.getState);
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

const FALLBACK_SIZE: TerminalSize = { columns: 100, rows: 30 };

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({
    columns: stdout.columns || FALLBACK_SIZE.columns,
    rows: stdout.rows || FALLBACK_SIZE.rows,
  });
  const [size, setSize] = useState(read);

  useEffect(() => {
    const stdoutOnResize = (): void => setSize(read());
    stdout.on('resize', stdoutOnResize);
    return () => {
      stdout.off('resize', stdoutOnResize);
    };
  }, [stdout]);

  return size;
}
