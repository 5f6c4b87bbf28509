/**
 * SEARCH date keys (RFC 3501 §6.4.4: BEFORE, ON, SINCE, SENTBEFORE, SENTON, SENTSINCE take a
 * `date`, §9: date-day "-" date-month "-" date-year). imap-core checks the argument with a loose
 * pattern and later, while matching, turns it into a Date and calls toISOString(): a value that
 * passes the pattern but is no date ("32-Jan-2020", "0-Jan-2020") threw a RangeError from a timer inside the
 * engine, which ends the process (found by fuzzing, docs/fuzzing.md). kzymy looks at the parsed
 * query first and refuses such a search.
 */

const DATE_KEYS: ReadonlySet<string> = new Set(['date', 'internaldate']);

/** True when some date term of a parsed SEARCH query (imap-core's term tree) is not a date. */
export function hasInvalidSearchDate(query: unknown): boolean {
  if (Array.isArray(query)) return query.some(hasInvalidSearchDate);
  if (query === null || typeof query !== 'object') return false;
  const term = query as { key?: unknown; value?: unknown };
  if (typeof term.key === 'string' && DATE_KEYS.has(term.key)) {
    const value = term.value;
    const date = value instanceof Date ? value : new Date(String(value));
    return Number.isNaN(date.getTime());
  }
  // NOT and OR carry their terms in `value`.
  return hasInvalidSearchDate(term.value);
}
