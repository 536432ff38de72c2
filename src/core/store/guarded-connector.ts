/**
 * ioredis's connector for one server, with one listener added: ioredis listens for a socket's errors
 * with `once`, twice (its connector and its client), so a socket that fails twice throws the second
 * error as an uncaught exception — which ends the Node-RED process. A TLS socket does fail twice: its own
 * check of the server's certificate, then the alert the server sends back (seen in CI: "tlsv1 alert
 * decode error" after "self-signed certificate", with a CA that did not sign the server's certificate).
 * ioredis has already reported the first error and closes the connection; the later ones are dropped.
 */
import StandaloneConnector, {
  type StandaloneConnectionOptions,
} from "ioredis/built/connectors/StandaloneConnector";
import type { ErrorEmitter } from "ioredis/built/connectors/AbstractConnector";
import type { NetStream } from "ioredis/built/types";

export class GuardedConnector extends StandaloneConnector {
  // ioredis passes the client's options (a superset of the connector's) as `unknown`.
  constructor(options: unknown) {
    super(options as StandaloneConnectionOptions);
  }

  override async connect(onError: ErrorEmitter): Promise<NetStream> {
    const stream = await super.connect(onError);
    // The first error reached ioredis (see above), which closes the connection; later ones have no reader.
    stream.on("error", () => undefined);
    return stream;
  }
}
