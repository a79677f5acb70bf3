/** The webhook signing secrets, read from Secrets Manager and cached for a while so a rotation applies soon. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { activeSecrets } from '#core/webhooks';

export class SigningSecrets {
  private cached: { value: string; until: number } | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly cacheMs: number,
  ) {}

  async current(now = new Date()): Promise<string[]> {
    if (!this.cached || this.cached.until <= now.getTime()) {
      const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      if (!SecretString) throw new Error(`secret ${this.secretId} has no string value`);
      this.cached = { value: SecretString, until: now.getTime() + this.cacheMs };
    }
    return activeSecrets(this.cached.value, now);
  }
}
