/** Compute Engine's refusals, as Google's JSON error answer carries them. */

type Obj = Record<string, unknown>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: Obj = {},
  ) {
    super(message);
  }
}

export const HTTP_MESSAGES: Record<number, string> = {
  400: 'BAD REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION FAILED',
  429: 'TOO MANY REQUESTS',
  503: 'SERVICE UNAVAILABLE',
};

const NAME_RE = '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)';

export function notFound(resource: string): HttpError {
  return new HttpError(404, 'notFound', `The resource '${resource}' was not found`);
}

export function exists(resource: string): HttpError {
  return new HttpError(409, 'alreadyExists', `The resource '${resource}' already exists`);
}

/** A delete of a resource another one still uses (a disk attached, an address assigned). */
export function inUse(kind: string, resource: string, user: string): HttpError {
  return new HttpError(
    400,
    'resourceInUseByAnotherResource',
    `The ${kind} resource '${resource}' is already being used by '${user}'`,
  );
}

export function invalid(field: string, value: string, why: string): HttpError {
  return new HttpError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);
}

export function badName(field: string, value: string): HttpError {
  return invalid(field, value, `Must be a match of regex '${NAME_RE}'`);
}
