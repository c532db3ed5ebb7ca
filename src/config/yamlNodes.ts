import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  visit,
  type YAMLMap,
} from "yaml";
import type { YamlPath } from "./problems.js";

/** Finding the node a path names in a YAML document, so a problem can be reported at its line. */

export function firstAliasOffset(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node.range?.[0];
      return visit.BREAK;
    },
  });
  return found;
}

/** How a key is told apart from another: scalars by type and value, others by identity. */
function keyId(key: unknown): unknown {
  if (isScalar(key)) return `${typeof key.value}:${String(key.value)}`;
  return key;
}

/**
 * The start of every key that repeats an earlier key of its mapping, in one pass. yaml's own
 * check compares each key with all before it, which a file of many keys turns into minutes.
 */
export function duplicateKeyOffsets(doc: Document): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const id = keyId(pair.key);
        if (seen.has(id)) offsets.push((pair.key as Node | null)?.range?.[0] ?? 0);
        else seen.add(id);
      }
    },
  });
  return offsets;
}

/** Each mapping's pairs by key text, built once: a problem per key of a large mapping stays linear. */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairOf(map: YAMLMap, step: PropertyKey): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      if (!isPair(p)) continue;
      const text = String(isScalar(p.key) ? p.key.value : p.key);
      if (!index.has(text)) index.set(text, p as Pair);
    }
    pairIndex.set(map, index);
  }
  return index.get(String(step));
}

interface Located {
  readonly key?: Node | undefined;
  readonly value: Node | null | undefined;
}

/** The deepest node along `path` that exists, with the key node it hangs from. */
function walk(doc: Document, path: YamlPath): { found: Located; complete: boolean } {
  let current: Located = { value: doc.contents as Node | null };
  for (const step of path) {
    let node = current.value;
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    let next: Located | undefined;
    if (isMap(node)) {
      const pair = pairOf(node, step);
      if (pair) next = { key: pair.key as Node, value: (pair.value as Node | null) ?? null };
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step];
      if (item !== undefined) next = { value: item as Node };
    }
    if (!next) return { found: current, complete: false };
    current = next;
  }
  return { found: current, complete: true };
}

export function offsetOf(doc: Document, path: YamlPath): number {
  const { found } = walk(doc, path);
  return found.value?.range?.[0] ?? found.key?.range?.[0] ?? 0;
}

export function keyOffsetOf(doc: Document, path: YamlPath): number {
  const { found, complete } = walk(doc, path);
  if (complete && found.key?.range) return found.key.range[0];
  return found.value?.range?.[0] ?? 0;
}
