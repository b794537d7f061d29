import { StackStartError } from './stack.ts';

export const PORT_ATTEMPTS = 3;

/**
 * Starts a stack on free ports, again on other free ports when one was taken meanwhile: a free port
 * is chosen before a server binds it, and the Temporal dev server binds ports of its own choosing in
 * between, so an ephemeral test stack can lose that race. Any other failure, or a third lost race,
 * is thrown. Resolves to the settings of the stack that started.
 */
export async function startOnFreshPorts(steps: {
  /** Chooses ports (and a data dir) and returns the settings for them. */
  settings: () => Promise<Record<string, string | undefined>>;
  start: (settings: Record<string, string | undefined>) => Promise<unknown>;
  /** Stops what a failed start left and removes its data dir. */
  discard: () => Promise<void>;
  report: (line: string) => void;
}): Promise<Record<string, string | undefined>> {
  for (let attempt = 1; ; attempt++) {
    const settings = await steps.settings();
    try {
      await steps.start(settings);
      return settings;
    } catch (err) {
      if (!(err instanceof StackStartError) || !/already in use/i.test(err.message) || attempt >= PORT_ATTEMPTS) throw err;
      steps.report(`a port was taken while the stack started (attempt ${attempt} of ${PORT_ATTEMPTS}); starting again on other ports`);
      await steps.discard();
    }
  }
}
