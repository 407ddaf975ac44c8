import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { Footer, sessionCountLabel } from './Footer.js';

describe('Footer', () => {
  it('says "1 session" in the singular and "N sessions" otherwise', () => {
    expect(sessionCountLabel(0)).toBe('0 sessions');
    expect(sessionCountLabel(1)).toBe('1 session');
    expect(sessionCountLabel(2)).toBe('2 sessions');
  });

  it('renders the count, the key hints and a reconnecting marker', () => {
    const { lastFrame, unmount } = render(
      <Footer sessionCount={1} connection="reconnecting" notice={null} />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('1 session ');
    expect(frame).not.toContain('1 sessions');
    expect(frame).toContain('reconnecting…');
    expect(frame).toContain('^T terminal');
    unmount();
  });
});
