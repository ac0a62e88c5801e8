import { MachineError } from '../../errors.js';

/**
 * An answer of a provider's API that is not a success, with the provider's own code and message:
 * the one line a user sees. Throttling and transient errors never reach here (the connection
 * retries them) unless the retries ran out.
 */
export class CloudAPIError extends MachineError {
  readonly provider: string;
  readonly status: number;
  readonly code: string;
  readonly apiMessage: string;
  readonly requestId: string;
  /** The provider says the resource does not exist, in a status other than 404 (EC2's 400 *.NotFound). */
  readonly gone: boolean;

  constructor(
    provider: string,
    status: number,
    code: string,
    apiMessage: string,
    requestId = '',
    gone = false,
  ) {
    const req = requestId ? ` (request ${requestId})` : '';
    super(`${provider} API: ${code}: ${apiMessage.trim()} (HTTP ${status})${req}`);
    this.provider = provider;
    this.status = status;
    this.code = code;
    this.apiMessage = apiMessage;
    this.requestId = requestId;
    this.gone = gone;
  }
}

/**
 * Credentials renewed after a 401 were refused too: renewing them again would not help, so the
 * line says which request it was and what the user can do about the credentials.
 */
export class CredentialsRefusedError extends CloudAPIError {
  constructor(
    provider: string,
    e: { code: string; message: string; requestId?: string },
    request: string,
    hint: string,
  ) {
    super(provider, 401, e.code, e.message, e.requestId);
    this.message = `${this.message}; ${request} was refused again with credentials renewed just before: ${hint}`;
  }
}

/** The provider no longer has the resource: for a delete, that is what was wanted. */
export function isGone(err: unknown): boolean {
  return err instanceof CloudAPIError && (err.status === 404 || err.gone);
}

/**
 * The provider refused the request itself (bad input, quota, permission): nothing was made, and
 * asking again gives the same answer. A lost connection or a timeout is not a refusal: the
 * provider may have acted on the request.
 */
export function isRefusal(err: unknown): boolean {
  return err instanceof CloudAPIError && err.status >= 400 && err.status < 500 && err.status !== 429;
}

/** The API could not be reached or did not answer (DNS, TLS, refused connection, timeout). */
export class CloudUnreachableError extends MachineError {}
