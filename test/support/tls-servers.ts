/**
 * Servers of a test's own that speak TLS, with certificates the test makes: a CA that signed a server
 * certificate for 127.0.0.1/localhost, a second CA nobody should trust, and a client certificate. Used by
 * the security tests to show AUTH and TLS against real redis-server and MariaDB processes, never by
 * reconfiguring the shared ones. Each server lives in a temporary directory and is killed by the test.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./net";

export interface Pki {
  readonly dir: string;
  /** PEM text. */
  readonly ca: string;
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Files, for the servers. */
  readonly files: { readonly ca: string; readonly cert: string; readonly key: string };
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA, a server certificate it signed (SAN 127.0.0.1 and localhost), a client pair, another CA. */
export function makePki(): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-pki-"));
  const ca = (name: string, cn: string): void =>
    openssl(dir, [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
    ]);
  const signed = (name: string, cn: string, ext: string): void => {
    openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ]);
  };
  ca("ca", "datacoll test CA");
  ca("other-ca", "datacoll untrusted CA");
  signed("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "datacoll client", "extendedKeyUsage=clientAuth\n");
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), "utf8");
  return {
    dir,
    ca: read("ca.crt"),
    otherCa: read("other-ca.crt"),
    clientCert: read("client.crt"),
    clientKey: read("client.key"),
    files: {
      ca: path.join(dir, "ca.crt"),
      cert: path.join(dir, "server.crt"),
      key: path.join(dir, "server.key"),
    },
  };
}

/** Kill a server the test started and wait for it to be gone. */
export function kill(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
}

function started(proc: ChildProcess, ready: RegExp, what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let out = "";
    const seen = (chunk: Buffer): void => {
      out += chunk.toString();
      if (ready.test(out)) resolve(proc);
    };
    proc.stdout?.on("data", seen);
    proc.stderr?.on("data", seen);
    proc.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

export interface TlsRedis {
  readonly proc: ChildProcess;
  /** TLS only: the plain port is off. */
  readonly port: number;
}

/** redis-server with only a TLS port, a password, no persistence; client certificates optional. */
export async function startTlsRedis(pki: Pki, password: string): Promise<TlsRedis> {
  const port = await freePort();
  const proc = spawn("redis-server", [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--tls-cert-file",
    pki.files.cert,
    "--tls-key-file",
    pki.files.key,
    "--tls-ca-cert-file",
    pki.files.ca,
    "--tls-auth-clients",
    "optional",
    "--requirepass",
    password,
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  await started(proc, /Ready to accept connections/, "redis-server");
  return { proc, port };
}

export interface TlsMariadb {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly dataDir: string;
}

/**
 * A MariaDB of the test's own: a fresh data directory, TLS with the test's server certificate, and a user
 * `dc_tls` (password given) that may only connect over TLS, owning database `sec`.
 */
export async function startTlsMariadb(pki: Pki, password: string): Promise<TlsMariadb> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-mariadb-"));
  const small = ["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M"];
  execFileSync(
    "mariadb-install-db",
    [
      "--no-defaults",
      `--datadir=${dataDir}/data`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
      ...small,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const init = path.join(dataDir, "init.sql");
  fs.writeFileSync(
    init,
    [
      "CREATE DATABASE IF NOT EXISTS sec;",
      `CREATE USER 'dc_tls'@'%' IDENTIFIED BY '${password}' REQUIRE SSL;`,
      "GRANT ALL ON sec.* TO 'dc_tls'@'%';",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const proc = spawn("mariadbd", [
    "--no-defaults",
    `--datadir=${dataDir}/data`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--socket=${dataDir}/mysqld.sock`,
    `--pid-file=${dataDir}/mysqld.pid`,
    "--skip-log-error",
    `--ssl-ca=${pki.files.ca}`,
    `--ssl-cert=${pki.files.cert}`,
    `--ssl-key=${pki.files.key}`,
    `--init-file=${init}`,
    "--skip-name-resolve",
    ...small,
    ...(process.getuid?.() === 0 ? ["--user=root"] : []),
  ]);
  await started(proc, /ready for connections/, "mariadbd");
  return { proc, port, dataDir };
}

export async function stopMariadb(m: TlsMariadb | undefined): Promise<void> {
  if (!m) return;
  await kill(m.proc);
  fs.rmSync(m.dataDir, { recursive: true, force: true });
}
