/**
 * Just enough Markdown for docs/signup.md: headings, paragraphs, lists, fenced code, inline
 * code, emphasis and links within this site. Everything is escaped first; a link to another
 * site is shown as its text (pages make no third-party requests, and link to none).
 */
import { h, join, type Html } from './html';

export function renderMarkdown(text: string): Html {
  const blocks: Html[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; ) {
    const line = lines[i] as string;
    if (line.startsWith('```')) {
      const code: string[] = [];
      for (i++; i < lines.length && !(lines[i] as string).startsWith('```'); i++) {
        code.push(lines[i] as string);
      }
      i++;
      blocks.push(h`<pre>${code.join('\n')}</pre>`);
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min((heading[1] as string).length, 4);
      const content = inline(heading[2] as string);
      blocks.push(
        [
          h`<h1>${content}</h1>`,
          h`<h2>${content}</h2>`,
          h`<h3>${content}</h3>`,
          h`<h4>${content}</h4>`,
        ][level - 1] as Html,
      );
      i++;
      continue;
    }
    const listItem = /^(\s*)([-*]|\d+\.)\s+/;
    if (listItem.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: string[] = [];
      for (; i < lines.length && (lines[i] as string).trim() !== ''; i++) {
        const current = lines[i] as string;
        if (listItem.test(current)) items.push(current.replace(listItem, ''));
        else items[items.length - 1] += ' ' + current.trim();
      }
      const lis = join(items.map((item) => h`<li>${inline(item)}</li>`));
      blocks.push(ordered ? h`<ol>${lis}</ol>` : h`<ul>${lis}</ul>`);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const paragraph: string[] = [];
    for (; i < lines.length; i++) {
      const current = lines[i] as string;
      if (current.trim() === '' || current.startsWith('```') || /^#{1,4}\s/.test(current)) break;
      if (listItem.test(current)) break;
      paragraph.push(current.trim());
    }
    blocks.push(h`<p>${inline(paragraph.join(' '))}</p>`);
  }
  return join(blocks);
}

/** `code`, **strong**, *em* and [text](/local-link), in that order of precedence. */
function inline(text: string): Html {
  const parts: Html[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(h`${text.slice(last, match.index)}`);
    const [, code, strong, em, linkText, href] = match;
    if (code !== undefined) parts.push(h`<code>${code}</code>`);
    else if (strong !== undefined) parts.push(h`<strong>${strong}</strong>`);
    else if (em !== undefined) parts.push(h`<em>${em}</em>`);
    else if (linkText !== undefined && href !== undefined) {
      parts.push(/^\/(?!\/)|^#/.test(href) ? h`<a href="${href}">${linkText}</a>` : h`${linkText}`);
    }
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(h`${text.slice(last)}`);
  return join(parts);
}
