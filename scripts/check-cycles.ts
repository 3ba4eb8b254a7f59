// Fails when the module import graph under src/ has a cycle, or when a file name is not
// kebab-case. Run by `npm test` before the test suite.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'testdata' ? [] : listFiles(full);
    return d.name.endsWith('.ts') ? [full] : [];
  });
}

const files = listFiles(root);
const problems: string[] = [];
const graph = new Map<string, string[]>();
for (const file of files) {
  const base = file.split('/').pop() ?? '';
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.test)?\.ts$/.test(base)) {
    problems.push(`File name "${relative(root, file)}" is not kebab-case`);
  }
  if (file.endsWith('.test.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const deps: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s(?!type\b)[^'"]*?from\s+'(\.[^']+)'/gm)) {
    const spec = m[1];
    if (spec !== undefined) deps.push(resolve(dirname(file), spec));
  }
  graph.set(file, deps);
}

// Module-level graph: src/<module>/... → other modules it imports at run time.
const moduleOf = (f: string): string => relative(root, f).split('/')[0] ?? '';
const moduleGraph = new Map<string, Set<string>>();
for (const [file, deps] of graph) {
  const from = moduleOf(file);
  const set = moduleGraph.get(from) ?? new Set<string>();
  for (const d of deps) if (moduleOf(d) !== from) set.add(moduleOf(d));
  moduleGraph.set(from, set);
}

function findCycle(g: Map<string, Iterable<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  function visit(n: string): string[] | undefined {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const next of g.get(n) ?? []) {
      const c = visit(next);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  }
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

const fileCycle = findCycle(graph);
if (fileCycle)
  problems.push(`Import cycle: ${fileCycle.map((f) => relative(root, f)).join(' -> ')}`);
const moduleCycle = findCycle(moduleGraph);
if (moduleCycle) problems.push(`Module cycle: ${moduleCycle.join(' -> ')}`);

// tlog, crypto and store sit at the bottom: they import nothing of the project but basics.
for (const low of ['tlog', 'crypto', 'store']) {
  for (const dep of moduleGraph.get(low) ?? []) {
    if (dep !== 'basics') problems.push(`Module "${low}" must not import "${dep}"`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`Import graph of ${files.length} files has no cycles`);
