/** `dlq list` on a FIFO queue says what it could not show, and why: held behind groups, or cut by --max. */
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { fifoListing, formatFifoListing } from '../../src/cli/fifoListing.js';

const head = (group: string): Message => ({ MessageId: group, Attributes: { MessageGroupId: group } });

describe('the FIFO listing note', () => {
  it('with --max 1 over three groups of one message each, does not say the others are held behind group g', () => {
    const note = formatFifoListing(fifoListing([head('g')], 3, 1));
    expect(note).not.toMatch(/held behind them/);
    expect(note).toMatch(/--max 1 ended the listing; group g: 1 seen/);
    expect(note).toMatch(/about 2 more not shown: other groups' first messages, or messages held behind/);
  });

  it('without the cut, says they are held behind the groups seen', () => {
    expect(formatFifoListing(fifoListing([head('g')], 3, 1000))).toMatch(/group g: 1 seen, about 2 held behind them/);
  });
});
