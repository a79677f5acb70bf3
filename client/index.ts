/** The client library for Node: everything in `browser.ts`, plus webhook verification. */
export * from './browser.ts';
export { type VerifyWebhookOptions, type WebhookHeaders, WebhookVerificationError, verifyWebhook } from './webhook.ts';
