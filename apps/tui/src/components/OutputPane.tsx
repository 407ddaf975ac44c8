import React from 'react';
import { Box, Text } from 'ink';

export interface OutputPaneProps {
  title: string | null;
  /** The prompt of the turn running now, if one is. */
  running?: string | undefined;
  transcript: string;
  height: number;
}

/** The tail of the current session's transcript, as many lines as fit. */
export function OutputPane(props: OutputPaneProps): React.JSX.Element {
  const { title, running, transcript, height } = props;
  const visibleRows = Math.max(1, height - 3);
  const lines = transcript.replace(/\n$/, '').split('\n').slice(-visibleRows);
  return (
    <Box flexDirection="column" flexGrow={1} height={height} borderStyle="single" paddingX={1}>
      <Text wrap="truncate">
        <Text bold>{title ?? 'no session'}</Text>
        {running === undefined ? null : <Text color="yellow"> · running: {running}</Text>}
      </Text>
      {lines.map((line, index) => (
        <Text key={index} wrap="truncate">
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}
