import { escapeXML } from './xml.js';

/**
 * vim25 request bodies built by hand. Elements are in the urn:vim25 namespace (the default one
 * inside the method element); a polymorphic value says its type with xsi:type, as the WSDL asks.
 */

export interface MoRef {
  type: string;
  value: string;
}

export type Inner = string | number | boolean | undefined | null | Inner[];

function flat(inner: Inner): string {
  if (inner === undefined || inner === null) return '';
  if (Array.isArray(inner)) return inner.map(flat).join('');
  return typeof inner === 'string' ? inner : String(inner);
}

/** An element holding already-built XML (or nothing). */
export function el(name: string, inner: Inner, xsiType?: string): string {
  const t = xsiType ? ` xsi:type="${escapeXML(xsiType)}"` : '';
  return `<${name}${t}>${flat(inner)}</${name}>`;
}

/** An element holding a text value, escaped; left out when the value is undefined. */
export function val(name: string, v: string | number | boolean | undefined, xsiType?: string): string {
  if (v === undefined) return '';
  const t = xsiType ? ` xsi:type="${escapeXML(xsiType)}"` : '';
  return `<${name}${t}>${escapeXML(String(v))}</${name}>`;
}

/** A ManagedObjectReference element. */
export function ref(name: string, mo: MoRef | undefined, withXsiType = false): string {
  if (!mo) return '';
  const t = withXsiType ? ' xsi:type="ManagedObjectReference"' : '';
  return `<${name}${t} type="${escapeXML(mo.type)}">${escapeXML(mo.value)}</${name}>`;
}

/** The whole SOAP request for one method on one managed object. */
export function envelope(method: string, self: MoRef, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${ref('_this', self)}${body}</${method}>` +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

/** An OptionValue list entry (extraConfig): a string value, typed as the WSDL's xsd:anyType needs. */
export function optionValue(name: string, key: string, value: string): string {
  return el(name, [val('key', key), val('value', value, 'xsd:string')], 'OptionValue');
}
