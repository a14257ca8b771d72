/**
 * Reading docs/protocol.md from the checkout, so that the vectors these tests compute are checked
 * against the document itself and not against a copy that could drift from it (tests/spec_vectors.rs
 * does the same on the Rust side).
 */

import { readFileSync } from 'node:fs';

const DOC = new URL('../../../../docs/protocol.md', import.meta.url);

function normalise(text: string): string {
  return text.split(/\s+/).filter(Boolean).join(' ');
}

function isHexWord(word: string): boolean {
  return word.length > 0 && word.length % 2 === 0 && /^[0-9a-f]+$/.test(word);
}

export function unhex(...rows: string[]): Uint8Array {
  const digits = rows.join('').replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-f]*$/.test(digits)) throw new Error(`not hex: ${rows.join(' / ')}`);
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** One part of the document, from the line starting with `heading` to the next line starting with `next`. */
export class DocSection {
  readonly text: string;
  readonly blocks: string[][];

  constructor(
    readonly heading: string,
    next: string,
  ) {
    const lines = readFileSync(DOC, 'utf8').split('\n');
    const start = lines.findIndex((line) => line.startsWith(heading));
    if (start < 0) throw new Error(`docs/protocol.md has no heading ${heading}`);
    let end = lines.findIndex((line, i) => i > start && line.startsWith(next));
    if (end < 0) end = lines.length;
    const own = lines.slice(start, end);
    this.text = normalise(own.join('\n'));
    this.blocks = [];
    let block: string[] | null = null;
    for (const line of own) {
      if (line.trimStart().startsWith('```')) {
        if (block) this.blocks.push(block);
        block = block ? null : [];
      } else if (block && line.trim()) {
        block.push(normalise(line));
      }
    }
  }

  /** A documented line holds `row`: exactly, or followed by an annotation that does not begin with hex. */
  static lineHolds(line: string, row: string, annotatedWithNumbers = false): boolean {
    const want = normalise(row);
    if (!line.startsWith(want)) return false;
    const rest = line.slice(want.length);
    if (rest === '') return true;
    // Annotations that start with a count ("11 entries") look like hex; a block with such annotations
    // is matched on its rows alone.
    return rest.startsWith(' ') && (annotatedWithNumbers || !isHexWord(rest.slice(1).split(' ')[0] ?? ''));
  }

  /** Some code block of the section reads exactly these rows, line by line. */
  hasBlock(rows: readonly string[], annotatedWithNumbers = false): boolean {
    return this.blocks.some(
      (block) => block.length === rows.length && block.every((line, i) => DocSection.lineHolds(line, rows[i] as string, annotatedWithNumbers)),
    );
  }

  /** Some line of some code block holds `row`. */
  hasLine(row: string): boolean {
    return this.blocks.some((block) => block.some((line) => DocSection.lineHolds(line, row)));
  }

  /** The prose quotes `phrase`. */
  mentions(phrase: string): boolean {
    return this.text.includes(normalise(phrase));
  }
}
