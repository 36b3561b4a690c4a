/**
 * Generated sections of Markdown documents, between `<!-- BEGIN name -->` and `<!-- END name -->`
 * markers, so docs that are derived from code (schemas, --help) are regenerated and checked rather
 * than kept by hand. Pure.
 */
export function markers(name: string): { begin: string; end: string } {
  return { begin: `<!-- BEGIN ${name} -->`, end: `<!-- END ${name} -->` };
}

/** The text between the markers, without the newline after BEGIN and before END; undefined when missing. */
export function extractSection(doc: string, name: string): string | undefined {
  const { begin, end } = markers(name);
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b === -1 || e === -1 || e < b) return undefined;
  return doc.slice(b + begin.length, e).replace(/^\n/, '').replace(/\n$/, '');
}

/** `doc` with the section's content replaced; unchanged when the markers are missing. */
export function replaceSection(doc: string, name: string, content: string): string {
  const { begin, end } = markers(name);
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b === -1 || e === -1 || e < b) return doc;
  return `${doc.slice(0, b + begin.length)}\n${content}\n${doc.slice(e)}`;
}
