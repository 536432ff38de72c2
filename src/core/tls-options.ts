/**
 * TLS settings as the editor saves them, shared by the MySQL and the Redis connection: PEM text checked
 * for what it is, a client certificate only with its key, and certificate checking on unless switched off.
 */
import { DataCollError } from "./errors";
import { flagSetting, textSetting } from "./settings";

export interface TlsSettings {
  /** PEM text of the CA certificate(s) that signed the server's certificate; undefined: the system's. */
  readonly ca: string | undefined;
  /** PEM client certificate and key, for servers that require X.509 client authentication. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** false accepts any server certificate (testing only: it gives up on knowing who the server is). */
  readonly rejectUnauthorized: boolean;
}

export interface TlsFields {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly rejectUnauthorized: string;
}

export function optionalPem(raw: unknown, field: string): string | undefined {
  const value = textSetting(raw, field, "");
  if (value === "") return undefined;
  if (!value.includes("-----BEGIN ")) {
    throw new DataCollError("invalid", `${field} must be PEM text (starting with -----BEGIN …)`, field);
  }
  return value;
}

/** Validate CA, client certificate, key and the verify switch; the field names are the caller's. */
export function parseTls(
  raw: {
    readonly ca?: unknown;
    readonly cert?: unknown;
    readonly key?: unknown;
    readonly rejectUnauthorized?: unknown;
  },
  fields: TlsFields,
): TlsSettings {
  const tls: TlsSettings = {
    ca: optionalPem(raw.ca, fields.ca),
    cert: optionalPem(raw.cert, fields.cert),
    key: optionalPem(raw.key, fields.key),
    rejectUnauthorized: flagSetting(raw.rejectUnauthorized, fields.rejectUnauthorized, true),
  };
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? fields.cert : fields.key;
    throw new DataCollError("invalid", "a client certificate needs both cert and key", missing);
  }
  return tls;
}

/** The options Node's tls.connect takes (through mysql2's `ssl` and ioredis' `tls`). */
export function tlsConnectOptions(t: TlsSettings): {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
} {
  return {
    ...(t.ca === undefined ? {} : { ca: t.ca }),
    ...(t.cert === undefined ? {} : { cert: t.cert }),
    ...(t.key === undefined ? {} : { key: t.key }),
    rejectUnauthorized: t.rejectUnauthorized,
  };
}
