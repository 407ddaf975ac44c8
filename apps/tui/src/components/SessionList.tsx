import React from 'react';
import { Box, Text } from 'ink';
import type { SessionInfo } from '../state.js';

export interface SessionListProps {
  sessions: SessionInfo[];
  currentId: string | null;
  width: number;
}

/** One row per session: title, status, attached count, and ● while a turn runs. */
export function SessionList({ sessions, currentId, width }: SessionListProps): React.JSX.Element {
  return (
    <Box flexDirection="column" width={width} borderStyle="single" paddingX={1}>
      <Text bold>Sessions</Text>
      {sessions.length === 0 ? <Text dimColor>none yet: type to start</Text> : null}
      {sessions.map((session) => {
        const isCurrent = session.session_id === currentId;
        const running = session.running ? '●' : ' ';
        const marker = isCurrent ? '›' : ' ';
        return (
          <Text key={session.session_id} inverse={isCurrent} wrap="truncate">
            {marker} {running} {session.title} · {session.status} · {session.attached} att
          </Text>
        );
      })}
    </Box>
  );
}
