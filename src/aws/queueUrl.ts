/** Whether a queue URL names a FIFO queue (SQS requires the `.fifo` suffix on them). */
export function isFifoQueueUrl(queueUrl: string): boolean {
  return queueUrl.endsWith('.fifo');
}
