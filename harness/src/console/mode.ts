// Live rows or one line per event: live rows only where a person watches a capable terminal.
export type OutputMode = 'tty' | 'plain';

/** `CI` set, and not empty, 0 or false. */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** `isTTY`, `columns` and `rows` are those of the stream the progress goes to (stderr). */
export function chooseOutputMode(o: { isTTY: boolean | undefined; env: NodeJS.ProcessEnv; plainFlag?: boolean; columns?: number; rows?: number }): OutputMode {
  if (o.plainFlag || !o.isTTY) return 'plain';
  // A pseudo-terminal nobody sized (script(1), docker -t in CI) says 0x0: live rows would be
  // clipped to nothing, the final ones included.
  if (o.columns === 0 || o.rows === 0) return 'plain';
  // CI logs keep every byte written: cursor movement there is noise, not animation.
  if (underCI(o.env)) return 'plain';
  // no-color.org: set and not empty.
  if (o.env.NO_COLOR) return 'plain';
  if (o.env.TERM === 'dumb') return 'plain';
  return 'tty';
}
