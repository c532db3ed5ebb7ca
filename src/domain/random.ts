/**
 * A deterministic sequence in [0, 1) from `seed` (a linear congruential generator): the
 * retry jitter of a daemon on virtual time, so that the same run gives the same figures.
 */
export function seededRandom(seed = 1): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
