/**
 * The incumbent package for `npm run bench -- incumbent`: node-red-contrib-modbus, installed from the npm
 * registry into .bench-incumbent/ (git-ignored) on first use rather than as a dependency of ours, so
 * that neither a user of the package nor `npm ci` pulls it. It runs in the Node-RED of our
 * devDependencies (4.1.x), the one `npm test` uses, so both packages load in the same Node-RED.
 *
 * Its releases since 5.45 name one dependency, @openp4nr/modbus-serial (its own fork of modbus-serial,
 * used for serial lines only), as a tarball URL off the npm registry, which this project's machines do
 * not reach: an npm override puts modbus-serial from the registry in its place. The TCP path measured
 * here does not go through it.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const INCUMBENT = "node-red-contrib-modbus";
export const INCUMBENT_VERSION = "5.60.2";

const root = path.resolve(__dirname, "../..");
export const incumbentDir = path.join(root, ".bench-incumbent");

/** The installed package's folder, installing it first when it is missing or of another version. */
export async function installIncumbent(): Promise<string> {
  const pkgDir = path.join(incumbentDir, "node_modules", INCUMBENT);
  const manifest = path.join(pkgDir, "package.json");
  const installed = fs.existsSync(manifest)
    ? (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: string }).version
    : undefined;
  if (installed === INCUMBENT_VERSION) return pkgDir;
  console.log(`bench incumbent: installing ${INCUMBENT}@${INCUMBENT_VERSION} into .bench-incumbent/`);
  fs.mkdirSync(incumbentDir, { recursive: true });
  fs.writeFileSync(
    path.join(incumbentDir, "package.json"),
    JSON.stringify(
      {
        name: "datacoll-bench-incumbent",
        private: true,
        overrides: { "@openp4nr/modbus-serial": "npm:modbus-serial@^8.0.0" },
      },
      null,
      2,
    ) + "\n",
  );
  const args = ["install", "--prefix", incumbentDir, "--no-audit", "--no-fund", "--loglevel=error"];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn("npm", [...args, `${INCUMBENT}@${INCUMBENT_VERSION}`], { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`npm install of ${INCUMBENT} exited with ${code}`);
  return pkgDir;
}
