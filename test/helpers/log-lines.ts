// The lifecycle log (packages/sdk/README.md, "Logging") as a test reads it: `<namespace> <event> <subject> …`,
// one line per event, found by namespace and event name, never by wording.

/** One `fara:*` debug line. */
export interface LogLine {
  /** `fara:entity`, `fara:rendezvous:server`, … (`:error` for an error line). */
  namespace: string
  /** The first word of the message: `register`, `resolve`, `open`, … */
  event: string
  /** The word after the event: a quoted public name, `private`, a peer id, `#3`, … */
  subject: string
  text: string
}

// debug prints a date (or, on a terminal, colour codes) before the namespace
const LINE = /(?:^|\s)(fara:[\w:-]+) (\S+) ?(\S*)/
const COLOUR = /\u001b\[[0-9;]*m/g // eslint-disable-line no-control-regex

/** The `fara:*` lines of a process's stderr. */
export function logLines (stderr: string): LogLine[] {
  return stderr.split('\n').flatMap((raw) => {
    const text = raw.replace(COLOUR, '')
    const m = LINE.exec(text)
    return m == null ? [] : [{ namespace: m[1]!, event: m[2]!, subject: m[3]!.replace(/:$/, ''), text }]
  })
}

/** The lines of `namespace` with `event`. */
export function linesOf (lines: LogLine[], namespace: string, event: string): LogLine[] {
  return lines.filter(l => l.namespace === namespace && l.event === event)
}

/** The events of `namespace`, in order. */
export function eventsOf (lines: LogLine[], namespace: string): string[] {
  return lines.filter(l => l.namespace === namespace).map(l => l.event)
}
