/** The defaults of `persons-relay webhook sign`, shared by the command's definition and its implementation. */

/** Where the signing secret comes from when `--secret` is not given (keeps it out of shell history). */
export const WEBHOOK_SECRET_ENV = 'PERSONS_RELAY_WEBHOOK_SECRET';
/** The base URL when `--url` is not given. */
export const WEBHOOK_URL_ENV = 'PERSONS_RELAY_WEBHOOK_URL';
/** The local ingress port `persons-relay webhook sign` aims at by default. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';
