import React from 'react';
import { Box, Text } from 'ink';
import type { ResumePicker as Picker, StoredSession } from '../state.js';

export interface ResumePickerProps {
  picker: Picker;
  height: number;
}

/** How a stored session's newest run ended: its end reason, or "live" while it runs. */
export function lastRunLabel(session: StoredSession): string {
  const newest = [...session.runs].sort((a, b) => a.started_at.localeCompare(b.started_at)).at(-1);
  if (!newest) return 'never ran';
  if (newest.ended_at === null) return 'live';
  return newest.end_reason ?? 'ended';
}

/** The Ctrl-R list: stored sessions, newest first, the highlighted one resumed by Enter. */
export function ResumePicker({ picker, height }: ResumePickerProps): React.JSX.Element {
  const visibleRows = Math.max(1, height - 4);
  // Keep the highlighted row on screen when the list is longer than the pane.
  const first = Math.max(0, picker.index - visibleRows + 1);
  const rows = picker.sessions.slice(first, first + visibleRows);
  return (
    <Box flexDirection="column" flexGrow={1} height={height} borderStyle="single" paddingX={1}>
      <Text bold wrap="truncate">
        Resume a stored session · ↑/↓ pick · Enter resume · Esc cancel
      </Text>
      {rows.map((session, offset) => {
        const isPicked = first + offset === picker.index;
        const created = session.created_at.replace('T', ' ').slice(0, 16);
        return (
          <Text key={session.session_id} inverse={isPicked} wrap="truncate">
            {isPicked ? '›' : ' '} {session.title} · {created} · {lastRunLabel(session)}
          </Text>
        );
      })}
    </Box>
  );
}
