import { Rng, seedRng, type RngState } from './random.ts';
import type { SmsStore } from './store/db.ts';

/** Id formats of the service (BEHAVIOR.md, "Ids"). */
export const ID_FORMATS = {
  connector: { prefix: 'c-', hex: 17 },
  server: { prefix: 's-', hex: 8 },
  job: { prefix: 'sms-job-', hex: 8 },
  run: { prefix: 'sms-run-', hex: 8 },
  ami: { prefix: 'ami-', hex: 17 },
} as const;
export type IdKind = keyof typeof ID_FORMATS;

export const ID_PATTERNS: Record<IdKind, RegExp> = {
  connector: /^c-[0-9a-f]{17}$/,
  server: /^s-[0-9a-f]{8}$/,
  job: /^sms-job-[0-9a-f]{8}$/,
  run: /^sms-run-[0-9a-f]{8}$/,
  ami: /^ami-[0-9a-f]{17}$/,
};

/**
 * Draws ids from the seeded PRNG, whose state lives in the database next to the data, so ids are
 * reproducible from the seed and never issued twice (every id is recorded; a repeat is redrawn).
 */
export class IdSource {
  private readonly rng: Rng;
  private readonly store: SmsStore;

  constructor(store: SmsStore, seed: number | undefined) {
    this.store = store;
    const saved = store.getMeta('rng');
    const state: RngState = saved ? (JSON.parse(saved) as RngState) : seedRng(seed ?? Math.floor(Math.random() * 0x1_0000_0000));
    this.rng = new Rng(state);
    if (!saved) store.setMeta('rng', JSON.stringify(state));
  }

  next(kind: IdKind): string {
    const f = ID_FORMATS[kind];
    for (;;) {
      const id = f.prefix + this.rng.hex(f.hex);
      if (this.store.issueId(id)) {
        this.store.setMeta('rng', JSON.stringify(this.rng.state()));
        return id;
      }
    }
  }

  /** Records an id that came from elsewhere (the inventory's connector ids), so it is never drawn. */
  reserve(id: string): void {
    this.store.issueId(id);
  }
}
