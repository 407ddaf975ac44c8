import React from 'react';
import { Box, Text } from 'ink';
import type { ConnectionState } from '../state.js';

/** "1 session", "3 sessions". */
export function sessionCountLabel(count: number): string {
  return `${count} ${count === 1 ? 'session' : 'sessions'}`;
}

export const KEY_HINTS = '^N new · ^W close · Tab/^O/^P switch · ^R resume · ^T terminal · ^Q quit';

export interface FooterProps {
  sessionCount: number;
  connection: ConnectionState;
  notice: { text: string; isError: boolean } | null;
}

export function Footer({ sessionCount, connection, notice }: FooterProps): React.JSX.Element {
  return (
    <Box flexDirection="column" paddingX={1}>
      {notice ? (
        <Text color={notice.isError ? 'red' : 'yellow'} wrap="truncate">
          {notice.text.replace(/\s*\n\s*/g, ' ')}
        </Text>
      ) : null}
      <Text wrap="truncate">
        <Text bold>{sessionCountLabel(sessionCount)}</Text>
        {connection === 'connected' ? null : (
          <Text color="red">
            {connection === 'reconnecting' ? ' · reconnecting…' : ' · connecting…'}
          </Text>
        )}
        <Text dimColor> · {KEY_HINTS}</Text>
      </Text>
    </Box>
  );
}
