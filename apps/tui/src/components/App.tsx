import React, { useCallback, useRef, useState } from 'react';
import { Box, useInput, type Key } from 'ink';
import type { GatewayController } from '../gateway-controller.js';
import { useGatewayState, useTerminalSize } from '../hooks/use-gateway.js';
import { currentSession } from '../state.js';
import { Footer } from './Footer.js';
import { InputLine } from './InputLine.js';
import { OutputPane } from './OutputPane.js';
import { ResumePicker } from './ResumePicker.js';
import { SessionList } from './SessionList.js';

export interface AppProps {
  controller: GatewayController;
  /** The user asked to quit (Ctrl-C / Ctrl-Q). */
  onQuit: () => void;
  /** The user asked for the current session's terminal (Ctrl-T). */
  onOpenTerminal: (sessionId: string) => void;
}

const LIST_WIDTH = 34;
// Rows taken by the input line and the footer (status line + hints).
const CHROME_ROWS = 4;

export function App({ controller, onQuit, onOpenTerminal }: AppProps): React.JSX.Element {
  const state = useGatewayState(controller);
  const size = useTerminalSize();
  const [draft, setDraftState] = useState('');
  // The key handler reads the draft from a ref: a key that arrives before React re-registers
  // the handler (fast typing, paste then Enter) must still see every earlier key.
  const draftRef = useRef('');
  const setDraft = useCallback((next: (value: string) => string) => {
    draftRef.current = next(draftRef.current);
    setDraftState(draftRef.current);
  }, []);
  const session = currentSession(state);

  const handleInput = useCallback(
    (input: string, key: Key) => {
      if (key.ctrl && (input === 'c' || input === 'q')) return onQuit();
      // While the picker is open, keys move it; typing must not leak into the draft.
      if (controller.getState().picker) {
        if (key.escape) return controller.dispatch({ type: 'picker-close' });
        if (key.return) return controller.run(() => controller.resumePicked());
        if (key.upArrow || (key.tab && key.shift)) {
          return controller.dispatch({ type: 'picker-move', delta: -1 });
        }
        if (key.downArrow || key.tab) return controller.dispatch({ type: 'picker-move', delta: 1 });
        return;
      }
      if (key.ctrl && input === 'r') return controller.run(() => controller.openResumePicker());
      if (key.ctrl && input === 'n') return controller.run(() => controller.createSession());
      if (key.ctrl && input === 'w') return controller.run(() => controller.closeCurrent());
      if (key.tab) return controller.run(() => controller.cycle(key.shift ? -1 : 1));
      if (key.ctrl && input === 'o') return controller.run(() => controller.cycle(1));
      if (key.ctrl && input === 'p') return controller.run(() => controller.cycle(-1));
      if (key.ctrl && input === 't') {
        const target = currentSession(controller.getState());
        if (target) return onOpenTerminal(target.session_id);
        return controller.dispatch({ type: 'notice', text: 'no session yet: ^N creates one' });
      }
      const submitDraft = () => {
        const text = draftRef.current;
        setDraft(() => '');
        controller.run(() => controller.submit(text));
      };
      if (key.return) return submitDraft();
      if (key.backspace || key.delete) return setDraft((value) => value.slice(0, -1));
      if (key.ctrl || key.meta || key.escape || input === '') return;
      // Keys typed fast (or pasted) arrive as one chunk: a line break inside it is an Enter,
      // so each finished line is submitted in order and the rest stays in the draft.
      const lines = input.split(/\r\n|\r|\n/);
      lines.forEach((line, index) => {
        setDraft((value) => value + line);
        if (index < lines.length - 1) submitDraft();
      });
    },
    [controller, onOpenTerminal, onQuit, setDraft],
  );
  useInput(handleInput);

  const paneHeight = Math.max(5, size.rows - CHROME_ROWS);
  return (
    <Box flexDirection="column" width={size.columns}>
      <Box height={paneHeight}>
        <SessionList sessions={state.sessions} currentId={state.currentId} width={LIST_WIDTH} />
        {state.picker ? (
          <ResumePicker picker={state.picker} height={paneHeight} />
        ) : (
          <OutputPane
            title={session ? session.title : null}
            running={session ? state.runningText[session.session_id] : undefined}
            transcript={session ? (state.transcripts[session.session_id] ?? '') : ''}
            height={paneHeight}
          />
        )}
      </Box>
      <InputLine value={draft} isEnabled={state.connection === 'connected'} />
      <Footer
        sessionCount={state.sessions.length}
        connection={state.connection}
        notice={state.notice}
      />
    </Box>
  );
}
