/**
 * Just enough XML for EC2's answers: elements, text and the five entities plus numeric ones
 * (EC2 uses no attributes that matter, no CDATA, no mixed content). An element becomes its text
 * when it has no children; a list (children all named `item` or `member`) becomes an array; any
 * other element becomes an object by child name. An empty set (`<groupSet/>`) becomes ''.
 */
export type XmlValue = string | XmlValue[] | { [name: string]: XmlValue };

interface El {
  name: string;
  children: El[];
  text: string;
}

export function parseXml(text: string): { root: string; value: XmlValue } {
  const src = text.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: El[] = [{ name: '', children: [], text: '' }];
  const re = /<(\/?)([A-Za-z_][\w.:-]*)([^>]*?)(\/?)>|([^<]+)/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const [, close, rawName, , selfClose, chars] = m;
    const top = stack[stack.length - 1];
    if (chars !== undefined) {
      top.text += decode(chars);
      continue;
    }
    const name = rawName.includes(':') ? rawName.slice(rawName.indexOf(':') + 1) : rawName;
    if (close) {
      if (stack.length === 1 || top.name !== name) throw new Error(`XML: unexpected </${rawName}>`);
      stack.pop();
      continue;
    }
    const el: El = { name, children: [], text: '' };
    top.children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1].name}> is not closed`);
  const root = stack[0].children[0];
  if (!root) throw new Error('XML: no element');
  return { root: root.name, value: elementValue(root) };
}

function elementValue(el: El): XmlValue {
  if (el.children.length === 0) return el.text.trim() === '' ? '' : el.text;
  if (el.children.every((c) => c.name === 'item' || c.name === 'member'))
    return el.children.map(elementValue);
  const out: { [name: string]: XmlValue } = {};
  for (const c of el.children) out[c.name] = elementValue(c);
  return out;
}

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] ?? '';
  });
}

/** Readers that accept what the XML gave (an absent or empty element included). */
export function obj(v: XmlValue | undefined): { [name: string]: XmlValue } {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
export function list(v: XmlValue | undefined): XmlValue[] {
  return Array.isArray(v) ? v : [];
}
export function text(v: XmlValue | undefined): string {
  return typeof v === 'string' ? v : '';
}
