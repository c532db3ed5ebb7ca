import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, visit } from "yaml";
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
      const pair = node.items.find(
        (p) => isPair(p) && String(isScalar(p.key) ? p.key.value : p.key) === String(step),
      );
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
