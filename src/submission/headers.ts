/**
 * The header section of a submitted message or of a MIME part, read just far enough to decide
 * what leaves: field names and their raw lines, byte for byte (latin1 strings, so 8-bit bytes
 * survive the round trip unchanged). Nothing here decodes a value.
 */

export interface HeaderField {
  /** Lowercase field name. */
  key: string;
  /** The whole field as written, folded lines and all, without the final CRLF. */
  raw: string;
  /** The value after the colon, unfolded (RFC 5322 §2.2.3) and trimmed. */
  value: string;
}

export interface Entity {
  fields: HeaderField[];
  /** Everything after the empty line that ends the header section. */
  body: string;
}

/** RFC 5322 §3.6.8: field-name = 1*ftext, printable US-ASCII except ":" (obsolete WSP allowed). */
const FIELD = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/**
 * Splits an entity (a message, or a MIME part) at the empty line that ends its header section.
 * Null when there is none, or when a line of the header section is neither a field nor a
 * folded continuation: such bytes are not a message kzymy can vouch for.
 */
export function readEntity(text: string): Entity | null {
  let end: number;
  let bodyStart: number;
  if (text.startsWith('\r\n')) {
    // RFC 2046 §5.1.1: a body part may have no header fields at all.
    end = 0;
    bodyStart = 2;
  } else {
    const at = text.indexOf('\r\n\r\n');
    if (at < 0) return null;
    end = at;
    bodyStart = at + 4;
  }
  const fields: HeaderField[] = [];
  if (end > 0) {
    for (const line of text.slice(0, end).split('\r\n')) {
      if (/^[ \t]/.test(line)) {
        const last = fields[fields.length - 1];
        if (!last) return null;
        last.raw += '\r\n' + line;
        last.value = `${last.value} ${line.trim()}`.trim();
        continue;
      }
      const match = FIELD.exec(line);
      if (!match) return null;
      fields.push({
        key: (match[1] as string).toLowerCase(),
        raw: line,
        value: line.slice(match[0].length).trim(),
      });
    }
  }
  return { fields, body: text.slice(bodyStart) };
}

export function fieldsNamed(entity: Entity, key: string): HeaderField[] {
  return entity.fields.filter((field) => field.key === key);
}
