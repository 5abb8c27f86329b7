// The prose of a Markdown file, for training pairs: parsed by mdast-util-from-markdown (CommonMark and
// GitHub's tables and autolinks), then each block's text, one paragraph per block. A README's badges
// (images inside links), link targets, bare URLs, raw HTML, link definitions and front matter are not
// prose and would teach a model that every document shares "https", "shields", "svg"; link text,
// emphasis, list items, table cells and code blocks are kept.
import type { Nodes, Parents, RootContent } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { toString } from 'mdast-util-to-string';
import { gfm } from 'micromark-extension-gfm';

/** Markdown files, by extension. */
export const MARKDOWN_FILE = /\.(md|markdown|mdown|mkd)$/i;

// A link whose text is its own address says nothing but the URL: <https://…>, <mailto:…>, and GFM's
// literals (https://…, www.… whose url gains http://, a@b.org whose url gains mailto:).
const withoutScheme = (address: string) => address.replace(/^(mailto:|https?:\/\/)/i, '');
const isBareLink = (node: Nodes) => node.type === 'link' && withoutScheme(toString(node)) === withoutScheme(node.url);

// The inline text of a block: no image alt texts (badges), no HTML, no bare links.
function inlineText(node: Parents): string {
  const parts = node.children.map((child) => (isBareLink(child) ? '' : toString(child, { includeImageAlt: false, includeHtml: false })));
  return parts.join('').replace(/\s+/g, ' ').replace(/ ([.,;:!?])/g, '$1').trim();
}

function blocks(nodes: readonly RootContent[], out: string[]): void {
  for (const node of nodes) {
    switch (node.type) {
      case 'paragraph':
      case 'heading':
        out.push(inlineText(node));
        break;
      case 'code':
        out.push(node.value);
        break;
      case 'table':
        for (const row of node.children) out.push(row.children.map(inlineText).filter(Boolean).join(' '));
        break;
      case 'list':
      case 'listItem':
      case 'blockquote':
        blocks(node.children, out);
        break;
      default: // html, definition, thematicBreak, yaml, footnoteDefinition: not prose
        break;
    }
  }
}

/** The text of a Markdown document: its blocks' prose, separated by blank lines. */
export function markdownText(source: string): string {
  const tree = fromMarkdown(source, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  const out: string[] = [];
  blocks(tree.children, out);
  return out.filter((text) => text !== '').join('\n\n');
}
