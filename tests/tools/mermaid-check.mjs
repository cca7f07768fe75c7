// Parses every Mermaid file given on the command line with Mermaid's own parser
// (in a jsdom window, as Mermaid expects a DOM). Exit 1 if any fails.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    if (!result || result.diagramType !== 'flowchart-v2') {
      throw new Error(`parsed as ${result && result.diagramType}, expected a flowchart`);
    }
  } catch (err) {
    failed += 1;
    console.error(`${file}: ${String(err.message || err).split('\n').slice(0, 4).join('\n')}`);
  }
}
process.exit(failed ? 1 : 0);
