/**
 * Decoding a large state in slices, for a thread that has other work meanwhile (a plan reads the
 * state while it pages through the SMS listings on the same thread): the same documents and errors
 * as codec.ts's decodeState, with `pause()` awaited between two slices of RECORDS_PER_STEP
 * records. Pure but for the pauses the caller gives. (Copying a working state in steps is codec.ts's
 * toStateDocumentSteps.)
 */
import {
  checkIntents,
  getValidators,
  isObject,
  parseJson,
  RECORDS_PER_STEP,
  recordProblem,
  upgradeState,
  validateStateDocument,
  type DecodeOptions,
  type JsonObject,
  type ResourceRecord,
  type StateDocument,
} from './codec.ts';

/**
 * decodeState for a thread that has other work meanwhile: the same document, or the same error,
 * but the checks of the records (schema and invariants) run in slices of RECORDS_PER_STEP with
 * `pause()` awaited between two slices. A plan reads the state while it pages through the SMS
 * listings on the same thread; decoded in one step, 100,000 records held every page up for ~1 s
 * (bench/RESULTS.md). The JSON is parsed in slices too when it has encodeState's layout
 * (parseStateSliced). On any problem the whole document is checked again by validateStateDocument,
 * so the error is the one decodeState gives.
 */
export async function decodeStateSliced(text: string, options: DecodeOptions, pause: () => Promise<void>): Promise<StateDocument> {
  const source = options.source ?? 'state';
  const value = upgradeState(await parseStateSliced(text, source, pause), source, options.upgraders);
  const resources = value['resources'];
  const v = getValidators();
  // The document without its records, then each record: what the document schema checks of them.
  if (!isObject(resources) || !v.document({ ...value, resources: {} })) return validateStateDocument(value, source);
  const keys = Object.keys(resources);
  let problem = false;
  for (let i = 0; i < keys.length && !problem; i += RECORDS_PER_STEP) {
    if (i > 0) await pause();
    for (let k = i; k < Math.min(i + RECORDS_PER_STEP, keys.length); k++) {
      const key = keys[k] as string;
      const record = resources[key];
      if (!v.address(key) || !v.resource(record) || recordProblem(key, record as ResourceRecord) !== undefined) {
        problem = true;
        break;
      }
    }
  }
  return problem ? validateStateDocument(value, source) : checkIntents(value as unknown as StateDocument, source);
}

/** Where encodeState's text opens and closes `resources` (two-space JSON: only structure starts a line). */
const RESOURCES_OPEN = '\n  "resources": {\n';
const RESOURCES_CLOSE = '\n  }';
/** How each record of `resources` starts in encodeState's text: a key indented by four. */
const RECORD_START = '\n    "';
/** Stands for the records while the rest of the document is parsed; any other value there means a second `resources` key. */
const RECORDS_SENTINEL = '\u0000sms-reconcile: the records, parsed in slices';

/**
 * JSON.parse(text), for a state in encodeState's layout, in slices: the document without its
 * records, then RECORDS_PER_STEP records at a time, with `pause()` awaited between two. In two-space
 * JSON a line can only start with structure (a newline inside a string is escaped), so a line
 * `    "KEY": ...` under `resources` starts a record; the text between two slices must be just the
 * comma, and the first record must follow the brace. Any other layout, and any text that does not
 * parse, is parsed whole by parseJson: the same value, or the same located error.
 */
async function parseStateSliced(text: string, source: string, pause: () => Promise<void>): Promise<unknown> {
  const open = text.indexOf(RESOURCES_OPEN);
  const close = open < 0 ? -1 : text.indexOf(RESOURCES_CLOSE, open + RESOURCES_OPEN.length - 1);
  if (open < 0 || close < 0) return parseJson(text, source);
  const starts: number[] = [];
  for (let at = text.indexOf(RECORD_START, open + 1); at >= 0 && at < close; at = text.indexOf(RECORD_START, at + 1)) starts.push(at);
  if (starts.length <= RECORDS_PER_STEP || starts[0] !== open + RESOURCES_OPEN.length - 1) return parseJson(text, source);
  try {
    const doc = JSON.parse(`${text.slice(0, open)}\n  "resources": ${JSON.stringify(RECORDS_SENTINEL)}${text.slice(close + RESOURCES_CLOSE.length)}`) as unknown;
    if (!isObject(doc) || doc['resources'] !== RECORDS_SENTINEL) return parseJson(text, source);
    const resources: JsonObject = {};
    for (let i = 0; i < starts.length; i += RECORDS_PER_STEP) {
      await pause();
      const from = (starts[i] as number) + 1;
      const next = starts[i + RECORDS_PER_STEP];
      // Up to the comma just before the next slice's first record; or to the close.
      if (next !== undefined && text.charCodeAt(next - 1) !== 44 /* , */) return parseJson(text, source);
      const body = next === undefined ? text.slice(from, close) : text.slice(from, next - 1);
      const slice = JSON.parse(`{${body}}`) as JsonObject;
      for (const key of Object.keys(slice)) {
        if (key === '__proto__') return parseJson(text, source);
        resources[key] = slice[key];
      }
    }
    doc['resources'] = resources;
    return doc;
  } catch {
    return parseJson(text, source);
  }
}
