/** `EventPublisher` on SNS, with the attributes subscribers filter on. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { EventPublisher, JobEvent } from '#core/ports';

export class SnsEventPublisher implements EventPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(event: JobEvent): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(event),
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          status: { DataType: 'String', StringValue: event.data.status },
          jobType: { DataType: 'String', StringValue: event.data.type },
          // The webhook queue subscribes with a filter on this: only jobs with a callback reach it.
          callback: { DataType: 'String', StringValue: event.data.callbackUrl ? 'true' : 'false' },
        },
      }),
    );
  }
}
