import type { Credential } from '../auth.ts';
import type { WorldContext } from '../lifecycle.ts';
import type { PageTokens } from '../paginate.ts';
import type { Input } from './input.ts';

/** What a handler sees: the world, brought up to `now` before the handler runs, inside one transaction. */
export interface RequestContext extends WorldContext {
  readonly now: number;
  readonly credential: Credential | undefined;
  readonly tokens: PageTokens;
  /** Set by a handler whose answer depends on the exact time (an ACTIVE run's progress): not cacheable. */
  readonly volatile: { value: boolean };
}

export type Output = Record<string, unknown>;
export type Handler = (ctx: RequestContext, input: Input) => Output;
