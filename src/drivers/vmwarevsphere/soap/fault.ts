import { CloudAPIError } from '../../cloud/errors.js';
import { child, childText, type XNode, xsiType } from './xml.js';

/**
 * A vim25 fault (a SOAP Fault, or a task's info.error) as the cloud layer's typed error: `code`
 * is the fault's type ("InvalidLogin", "FileNotFound"), the message is vSphere's own. The HTTP
 * status it carries is what the cloud layer decides on: 404 for faults that say the thing is not
 * there (a delete counts them done), 400 for refusals of the request itself (nothing was made),
 * 500 for the rest.
 */
export class VimFault extends CloudAPIError {
  constructor(type: string, message: string) {
    super('vSphere', statusOf(type), type, message || type);
  }
}

const GONE = new Set(['ManagedObjectNotFound', 'FileNotFound', 'NotFound']);
const REFUSED = new Set([
  'InvalidLogin',
  'InvalidArgument',
  'InvalidName',
  'DuplicateName',
  'FileAlreadyExists',
  'InvalidDatastorePath',
  'InvalidDatastore',
  'InvalidPowerState',
  'InvalidState',
  'NoPermission',
  'NotSupported',
  'NotAuthenticated',
  'InvalidRequest',
  'InvalidType',
  'InvalidProperty',
  'InvalidDeviceSpec',
  'InsufficientResourcesFault',
  'OutOfBounds',
  'AlreadyExists',
]);

function statusOf(type: string): number {
  if (GONE.has(type)) return 404;
  if (REFUSED.has(type)) return 400;
  return 500;
}

/** The fault in a SOAP Fault element: its type from the detail, its message from faultstring. */
export function soapFault(fault: XNode): VimFault {
  const detail = child(fault, 'detail')?.children[0];
  const type = xsiType(detail) || detail?.name.replace(/Fault$/, '') || childText(fault, 'faultcode');
  return new VimFault(type || 'SystemError', childText(fault, 'faultstring'));
}

/** A LocalizedMethodFault (a task's info.error). */
export function methodFault(lmf: XNode): VimFault {
  const f = child(lmf, 'fault');
  const type = xsiType(f) || 'SystemError';
  return new VimFault(type, childText(lmf, 'localizedMessage'));
}
