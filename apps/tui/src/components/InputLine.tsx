import React from 'react';
import { Box, Text } from 'ink';

export interface InputLineProps {
  value: string;
  isEnabled: boolean;
}

/** The prompt line; text is edited by App's key handler, this only draws it. */
export function InputLine({ value, isEnabled }: InputLineProps): React.JSX.Element {
  return (
    <Box paddingX={1}>
      <Text color={isEnabled ? 'green' : 'gray'}>{'> '}</Text>
      <Text wrap="truncate-start">{value}</Text>
      <Text inverse> </Text>
    </Box>
  );
}
