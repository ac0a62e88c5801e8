/**
 * Just enough XML for vim25 SOAP: text escaped for element content and attributes, and a parser
 * of well-formed answers into element trees (names without their namespace prefix). vSphere's
 * answers use no DTDs, processing instructions beyond the declaration, or mixed content, so those
 * are skipped rather than interpreted.
 */

export interface XNode {
  /** The local name: "returnval" for "<vim25:returnval>". */
  name: string;
  /** Attributes by their name as written ("type", "xsi:type"). */
  attrs: Record<string, string>;
  children: XNode[];
  /** The element's own text, entities decoded. */
  text: string;
}

export function escapeXML(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[e] ?? whole;
  });
}

export class XMLParseError extends Error {}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

/** The document's root element. Throws XMLParseError on anything that is not well formed. */
export function parseXML(doc: string): XNode {
  const stack: XNode[] = [];
  let root: XNode | undefined;
  let i = 0;
  const fail = (why: string): never => {
    throw new XMLParseError(`${why} at offset ${i}`);
  };
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = lt < 0 ? doc.slice(i) : doc.slice(i, lt);
    if (text && stack.length) stack[stack.length - 1].text += decode(text);
    else if (text.trim()) fail('text outside the root element');
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith('<?', i)) {
      const end = doc.indexOf('?>', i);
      if (end < 0) fail('unterminated declaration');
      i = end + 2;
    } else if (doc.startsWith('<!--', i)) {
      const end = doc.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (doc.startsWith('<![CDATA[', i)) {
      const end = doc.indexOf(']]>', i);
      if (end < 0 || !stack.length) fail('bad CDATA section');
      stack[stack.length - 1].text += doc.slice(i + 9, end);
      i = end + 3;
    } else if (doc.startsWith('<!', i)) {
      const end = doc.indexOf('>', i);
      if (end < 0) fail('unterminated declaration');
      i = end + 1;
    } else if (doc.startsWith('</', i)) {
      const end = doc.indexOf('>', i);
      if (end < 0) fail('unterminated end tag');
      const name = localName(doc.slice(i + 2, end).trim());
      const open = stack.pop();
      if (!open || open.name !== name) fail(`end tag </${name}> does not match`);
      i = end + 1;
    } else {
      const end = tagEnd(doc, i);
      if (end < 0) fail('unterminated start tag');
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>$/.exec(
        doc.slice(i, end + 1),
      );
      if (!m) fail('bad start tag');
      const [whole, qname, rawAttrs, selfClose] = m as RegExpExecArray;
      const attrs: Record<string, string> = {};
      for (const a of rawAttrs.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
        attrs[a[1]] = decode(a[2] ?? a[3] ?? '');
      const node: XNode = { name: localName(qname), attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].children.push(node);
      else if (root) fail('a second root element');
      else root = node;
      if (!selfClose) stack.push(node);
      i += whole.length;
    }
  }
  if (!root || stack.length) throw new XMLParseError('the document ends before its root element closes');
  return root;
}

/** The index of the '>' that ends the tag starting at i, skipping quoted attribute values. */
function tagEnd(doc: string, i: number): number {
  let quote = '';
  for (let j = i + 1; j < doc.length; j++) {
    const c = doc[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
  }
  return -1;
}

/** The first child element of that local name. */
export function child(n: XNode | undefined, name: string): XNode | undefined {
  return n?.children.find((c) => c.name === name);
}

export function childrenNamed(n: XNode | undefined, name: string): XNode[] {
  return n ? n.children.filter((c) => c.name === name) : [];
}

/** The text of the first child of that name ('' when there is none). */
export function childText(n: XNode | undefined, name: string): string {
  return child(n, name)?.text.trim() ?? '';
}

/** An element's xsi:type without its prefix ("VirtualMachinePowerState" for "vim25:..."), or ''. */
export function xsiType(n: XNode | undefined): string {
  if (!n) return '';
  for (const [k, v] of Object.entries(n.attrs))
    if (k === 'xsi:type' || k.endsWith(':type')) return localName(v);
  return '';
}
