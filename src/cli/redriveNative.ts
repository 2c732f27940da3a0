/**
 * SQS's own redrive, `StartMessageMoveTask`, from the DLQ to the source queue: server-side, for a
 * whole queue. Fast and cheap for large backlogs, but all or nothing: no filters, messages that can
 * never succeed go too, and every attribute is moved as it is (the relay's included, which the
 * relay ignores). SQS allows it only when the DLQ is the source queue's redrive-policy target and
 * both are of one type; on FIFO queues it moves oldest first and cannot stop at a group's head
 * (see docs/cli.md).
 */
import { ListMessageMoveTasksCommand, type SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { queueArn } from '../aws/sqs.js';

export interface NativeSummary {
  status: string;
  moved: number;
  toMove: number | undefined;
  failureReason: string | undefined;
}

/** `StartMessageMoveTask` from the DLQ to the source queue, waited for to the end. */
export async function redriveNative(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  o: { ratePerSecond?: number; pollMs?: number; onProgress?: (moved: number, toMove: number | undefined) => void },
): Promise<NativeSummary> {
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, dlqUrl), queueArn(sqs, sourceUrl)]);
  await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(o.ratePerSecond === undefined ? {} : { MaxNumberOfMessagesPerSecond: o.ratePerSecond }),
    }),
  );
  for (;;) {
    const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = out.Results?.[0];
    const moved = Number(task?.ApproximateNumberOfMessagesMoved ?? 0);
    const toMove = task?.ApproximateNumberOfMessagesToMove;
    o.onProgress?.(moved, toMove === undefined ? undefined : Number(toMove));
    if (task !== undefined && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      return {
        status: task.Status ?? 'UNKNOWN',
        moved,
        toMove: toMove === undefined ? undefined : Number(toMove),
        failureReason: task.FailureReason,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 2000));
  }
}
