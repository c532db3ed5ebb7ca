import {
  type ConfigPlace,
  type ConfigProblem,
  formatPath,
  formatPlace,
  type YamlPath,
} from "./problems.js";
import type { YamlLocator, YamlSource } from "./yamlSchema.js";

/**
 * The files of a config directory read as one config. Lists (`models`, `overrides`) are
 * joined in file order; `policies` are joined by name; any other top-level key is set in one
 * file. A problem of the joined config is placed in the file and at the path it came from.
 */

const LIST_KEYS: ReadonlySet<string> = new Set(["models", "overrides"]);
const NAMED_KEYS: ReadonlySet<string> = new Set(["policies"]);

export interface MergedSources {
  readonly data: Record<string, unknown>;
  readonly locator: YamlLocator;
  /** A key or a policy set in two files. */
  readonly problems: readonly ConfigProblem[];
}

interface Segment {
  readonly source: YamlSource;
  /** Index in the joined list of this file's first entry. */
  readonly offset: number;
  readonly length: number;
}

export function mergeConfigSources(sources: readonly [YamlSource, ...YamlSource[]]): MergedSources {
  const data: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const ownerOfKey = new Map<string, YamlSource>();
  const segments = new Map<string, Segment[]>();
  const ownerOfEntry = new Map<string, Map<string, YamlSource>>();

  const keyPlace = (source: YamlSource, path: YamlPath): ConfigPlace => ({
    file: source.file,
    ...source.locateKey(path),
    path: formatPath(path),
  });
  const conflict = (source: YamlSource, path: YamlPath, first: YamlSource, what: string) =>
    problems.push({
      ...keyPlace(source, path),
      message: `is also set at ${formatPlace(keyPlace(first, path))}; allowed: ${what}`,
    });

  for (const source of sources) {
    for (const [key, value] of Object.entries(source.data)) {
      const first = ownerOfKey.get(key);
      if (LIST_KEYS.has(key) && Array.isArray(value) && (!first || Array.isArray(data[key]))) {
        const joined = (data[key] as unknown[] | undefined) ?? [];
        const list = segments.get(key) ?? [];
        list.push({ source, offset: joined.length, length: value.length });
        segments.set(key, list);
        data[key] = [...joined, ...value];
        if (!first) ownerOfKey.set(key, source);
      } else if (NAMED_KEYS.has(key) && isMapping(value) && (!first || isMapping(data[key]))) {
        const joined = (data[key] as Record<string, unknown> | undefined) ?? {};
        const owners = ownerOfEntry.get(key) ?? new Map<string, YamlSource>();
        ownerOfEntry.set(key, owners);
        for (const [name, entry] of Object.entries(value)) {
          const firstOwner = owners.get(name);
          if (firstOwner) {
            conflict(source, [key, name], firstOwner, `each of the ${key} in one file`);
            continue;
          }
          owners.set(name, source);
          joined[name] = entry;
        }
        data[key] = joined;
        if (!first) ownerOfKey.set(key, source);
      } else if (first) {
        conflict(
          source,
          [key],
          first,
          "each top-level key in one file; only models, overrides and policies may be split across files",
        );
      } else {
        ownerOfKey.set(key, source);
        data[key] = value;
      }
    }
  }

  const [firstSource] = sources;
  const find = (path: YamlPath): { source: YamlSource; path: YamlPath } => {
    const [key, step, ...rest] = path;
    if (typeof key !== "string") return { source: firstSource, path };
    if (typeof step === "number") {
      const segment = segments
        .get(key)
        ?.find((s) => step >= s.offset && step < s.offset + s.length);
      if (segment) return { source: segment.source, path: [key, step - segment.offset, ...rest] };
    }
    if (typeof step === "string") {
      const owner = ownerOfEntry.get(key)?.get(step);
      if (owner) return { source: owner, path };
    }
    return { source: ownerOfKey.get(key) ?? firstSource, path };
  };
  const locator: YamlLocator = {
    place(path) {
      const found = find(path);
      return {
        file: found.source.file,
        ...found.source.locate(found.path),
        path: formatPath(found.path),
      };
    },
    placeOfKey(path) {
      const found = find(path);
      return keyPlace(found.source, found.path);
    },
  };
  return { data, locator, problems };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
