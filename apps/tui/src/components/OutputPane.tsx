import React from 'react';
import { Box, Text } from 'ink';

export interface OutputPaneProps {
  title: string | null;
  transcript: string;
  height: number;
}

/** The tail of the current session's transcript, as many lines as fit. */
export function OutputPane({ title, transcript, height }: OutputPaneProps): React.JSX.Element {
  const visibleRows = Math.max(1, height - 3);
  const lines = transcript.replace(/\n$/, '').split('\n').slice(-visibleRows);
  return (
    <Box flexDirection="column" flexGrow={1} height={height} borderStyle="single" paddingX={1}>
      <Text bold wrap="truncate">{title ?? 'no session'}</Text>
      {lines.map((line, index) => (
        <Text key={index} wrap="truncate">{line === '' ? ' ' : line}</Text>
      ))}
    </Box>
  );
}
