/**
 * The error bodies of the three services, each as that service shapes it. Keystone (and
 * keystonemiddleware in front of every other service) answers `{"error":{code,title,message}}`;
 * Nova `{"<fault name>":{code,message}}`, the fault name following the status; Neutron
 * `{"NeutronError":{type,message,detail}}`, the type being the exception's class name.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(JSON.stringify(body));
  }
}

const KEYSTONE_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
};

export function keystoneError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): ApiError {
  return new ApiError(
    status,
    { error: { code: status, title: KEYSTONE_TITLES[status] ?? 'Error', message } },
    headers,
  );
}

/** keystonemiddleware's answer for a request without a valid token, on any service. */
export function unauthorized(identityUrl: string): ApiError {
  return keystoneError(401, 'The request you have made requires authentication.', {
    'www-authenticate': `Keystone uri="${identityUrl}"`,
  });
}

/** Nova's fault names by status (nova/api/openstack/wsgi.py's Fault maps them the same way). */
const NOVA_FAULTS: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  406: 'notAcceptable',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export function novaError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  const fault: Record<string, unknown> = { code: status, message };
  // An overLimit fault carries its Retry-After twice: as the header and in the body.
  if ((status === 413 || status === 429) && headers['retry-after']) fault.retryAfter = headers['retry-after'];
  return new ApiError(status, { [NOVA_FAULTS[status] ?? 'computeFault']: fault }, headers);
}

export function neutronError(status: number, type: string, message: string, detail = ''): ApiError {
  return new ApiError(status, { NeutronError: { type, message, detail } });
}

/** Cinder shapes its faults as Nova does (both come from the same WSGI fault code). */
export const cinderError = novaError;

/** Glance answers errors as a short text page, not JSON. */
export function glanceError(status: number, message: string): ApiError {
  const title = status === 404 ? '404 Not Found' : status === 400 ? '400 Bad Request' : `${status} Error`;
  return new ApiError(status, `${title}\n\n${message}\n\n   `, {
    'content-type': 'text/plain; charset=UTF-8',
  });
}
