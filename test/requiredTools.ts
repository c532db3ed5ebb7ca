/**
 * Whether a test that needs a tool from outside npm (Debian's prometheus, chromium, faketime,
 * jq, a tmpfs mount; moto from PyPI) should be skipped. Where the tool is missing it is
 * skipped with its reason, unless KEEPWARM_REQUIRE_TEST_TOOLS=1 (set by .ci/run after
 * installing them): then the test file fails, so CI can never pass on a skip.
 */
export function skipWithout(present: boolean, tool: string): boolean {
  if (present) return false;
  if (process.env.KEEPWARM_REQUIRE_TEST_TOOLS === "1") {
    throw new Error(`${tool} is required (KEEPWARM_REQUIRE_TEST_TOOLS=1) but missing`);
  }
  return true;
}
