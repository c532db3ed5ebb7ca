/** The oldest Node.js keepwarm runs on: `engines.node` of package.json. */
export const REQUIRED_NODE = "20.11";

/**
 * The one line to print when `version` (`process.versions.node`, e.g. "18.19.0") is older
 * than REQUIRED_NODE; undefined when it will do. Without this check an older Node fails
 * somewhere in a dependency, with a stack trace that does not say what is wrong.
 */
export function nodeVersionProblem(version: string, execPath = ""): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [needMajor = 0, needMinor = 0] = REQUIRED_NODE.split(".").map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  const where = execPath ? ` (${execPath})` : "";
  return `keepwarm needs Node.js ${REQUIRED_NODE} or later and this is Node.js ${version}${where}: install Node.js 24 LTS from https://nodejs.org/en/download (Debian and Ubuntu: the NodeSource packages, or nvm: nvm install 24) and run keepwarm with it`;
}
