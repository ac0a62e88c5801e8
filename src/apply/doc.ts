/**
 * A parsed apply file, YAML or JSON, as nodes that remember their line: every error about the file
 * names the line and the field (docs/apply.md lists the YAML this reads).
 */
export type Node =
  | { kind: 'map'; line: number; entries: Map<string, { keyLine: number; value: Node }> }
  | { kind: 'list'; line: number; items: Node[] }
  | { kind: 'scalar'; line: number; value: string | number | boolean | null; quoted: boolean };

/** A problem at a line of the file; the caller adds the file's name and the field. */
export class DocError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}
